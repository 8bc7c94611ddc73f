# worker/image/ build fragment, included by the top Makefile.
# IMG_OBJS: the image intake (image.h): decode PNG/JPEG and normalise to
# 28x28. Link with $(IMG_LIBS) and $(COMMON_OBJS).
IMG_SRCS := $(addprefix worker/image/,image.c png.c jpeg.c exif.c intake.c norm.c resample.c composite.c background.c levels.c frame.c ink.c place.c)
IMG_OBJS := $(IMG_SRCS:%.c=$(B)/obj/%.o)
IMG_LIBS := $(LIB_png) $(LIB_jpeg)

TEST_BINS += $(B)/tests/t_image
$(B)/tests/t_image: $(B)/obj/tests/unit/t_image.o $(IMG_OBJS) $(COMMON_OBJS)
$(B)/tests/t_image: LDLIBS += $(IMG_LIBS)

TEST_BINS += $(B)/tests/t_image_exif
$(B)/tests/t_image_exif: $(B)/obj/tests/unit/t_image_exif.o $(IMG_OBJS) $(COMMON_OBJS)
$(B)/tests/t_image_exif: LDLIBS += $(IMG_LIBS)

TEST_BINS += $(B)/tests/t_frame
$(B)/tests/t_frame: $(B)/obj/tests/unit/t_frame.o $(IMG_OBJS) $(COMMON_OBJS)
$(B)/tests/t_frame: LDLIBS += $(IMG_LIBS) -lm

# Hostile images (tests/stress/gen_hostile.py) within the CPU and memory bounds.
TEST_BINS += $(B)/tests/t_image_bounds
$(B)/tests/t_image_bounds: $(B)/obj/tests/unit/t_image_bounds.o $(IMG_OBJS) $(COMMON_OBJS)
$(B)/tests/t_image_bounds: LDLIBS += $(IMG_LIBS)

# libFuzzer harnesses for the PNG and JPEG paths and the normaliser.
IMG_FUZZ := $(B)/fuzz/fuzz_png $(B)/fuzz/fuzz_jpeg $(B)/fuzz/fuzz_norm
FUZZERS  += $(IMG_FUZZ)
$(IMG_FUZZ): $(B)/fuzz/%: tests/fuzz/%.c $(IMG_SRCS) common/err.c $(wildcard worker/image/*.h) \
             common/err.h tests/fuzz/fuzz_image.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(IMG_LIBS) -lm
