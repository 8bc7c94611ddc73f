# worker/ build fragment, included by the top Makefile.
# ENGINE_OBJS: the inference engine (worker/model.h, worker/kernels.h and the
# safetensors reader); link with $(ENGINE_LIBS).
ENGINE_OBJS := $(B)/obj/worker/model.o $(B)/obj/worker/kernels.o \
               $(B)/obj/worker/kernels_avx2.o $(B)/obj/worker/kernels_avx512.o $(SFT_OBJS)
# Only these two files get ISA flags; kernels.c calls them after checking
# the CPU, so the binaries run on any x86-64. -O3 unrolls the register
# blocks completely (at -O2 the accumulators spill and the GEMM runs at 1/5).
$(B)/obj/worker/kernels_avx2.o: CFLAGS += -O3 -mavx2 -mfma
$(B)/obj/worker/kernels_avx512.o: CFLAGS += -O3 -mavx512f -mavx2 -mfma
ENGINE_LIBS := $(LIB_blas) $(LIB_jansson)
CFLAGS      += $(filter -I%,$(LIB_blas))

# Image intake (issue 4, worker/image.h): decode PNG/JPEG and normalise to
# 28x28. Link IMG_OBJS with $(IMG_LIBS) and $(COMMON_OBJS).
IMG_OBJS := $(addprefix $(B)/obj/worker/,image.o image_png.o image_jpeg.o image_exif.o \
            image_norm.o)
IMG_LIBS := $(LIB_png) $(LIB_jpeg)

BINS += $(B)/mnist-predict
$(B)/mnist-predict: $(B)/obj/worker/predict_main.o $(IMG_OBJS) $(ENGINE_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(IMG_LIBS) $(ENGINE_LIBS)

TEST_BINS += $(B)/tests/t_image
$(B)/tests/t_image: $(B)/obj/tests/t_image.o $(IMG_OBJS) $(COMMON_OBJS)
$(B)/tests/t_image: LDLIBS += $(IMG_LIBS)

# libFuzzer harnesses for the PNG and JPEG paths and the normaliser, built
# from source with clang apart from the normal objects (make fuzzers).
IMG_SRCS := worker/image.c worker/image_png.c worker/image_jpeg.c worker/image_exif.c \
            worker/image_norm.c common/err.c
IMG_FUZZ := $(B)/fuzz/fuzz_png $(B)/fuzz/fuzz_jpeg $(B)/fuzz/fuzz_norm
FUZZERS  += $(IMG_FUZZ)
$(IMG_FUZZ): $(B)/fuzz/%: tests/%.c $(IMG_SRCS) worker/image.h worker/image_decode.h \
             worker/image_norm.h common/err.h tests/fuzz_image.h
	@mkdir -p $(@D)
	clang -std=c17 -g -O1 -D_GNU_SOURCE -Icommon -Iworker -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all -o $@ $(filter %.c,$^) $(IMG_LIBS) -lm

BINS += $(B)/mnist-eval
$(B)/mnist-eval: $(B)/obj/worker/eval_main.o $(ENGINE_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(ENGINE_LIBS)

TEST_BINS += $(B)/tests/t_kernels $(B)/tests/t_model
$(B)/tests/t_kernels: $(B)/obj/tests/t_kernels.o $(ENGINE_OBJS) $(COMMON_OBJS)
$(B)/tests/t_kernels: LDLIBS += $(ENGINE_LIBS)
$(B)/tests/t_model: $(B)/obj/tests/t_model.o $(ENGINE_OBJS) $(COMMON_OBJS)
$(B)/tests/t_model: LDLIBS += $(ENGINE_LIBS)

# make bench runs the engine benchmark (tests/bench.sh, engine section).
bench: $(B)/tests/bench_engine
$(B)/tests/bench_engine: $(B)/obj/tests/bench_engine.o $(ENGINE_OBJS) $(COMMON_OBJS)
$(B)/tests/bench_engine: LDLIBS += $(ENGINE_LIBS)

# Serving path (issue 5): mnist-worker (worker/serve.h) and mnist-client.
SERVE_OBJS := $(B)/obj/worker/serve.o $(B)/obj/worker/worker_main.o $(NNGCLOSE_OBJS)
BINS += $(B)/mnist-client
$(B)/mnist-client: $(B)/obj/worker/client_main.o $(PROTO_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(LIB_nng) $(LIB_msgpack)
# The worker links once the image pipeline (IMG_OBJS, defined above) exists.
ifneq ($(IMG_OBJS),)
BINS += $(B)/mnist-worker
endif
$(B)/mnist-worker: $(SERVE_OBJS) $(ENGINE_OBJS) $(IMG_OBJS) $(PROTO_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(ENGINE_LIBS) $(IMG_LIBS) $(LIB_nng) \
	    $(LIB_msgpack) $(LIB_systemd)

# libFuzzer harness for the protocol codec (tests/fuzz_proto.c).
FUZZERS += $(B)/fuzz/fuzz_proto
$(B)/fuzz/fuzz_proto: tests/fuzz_proto.c common/proto.c common/err.c common/proto.h common/err.h
	@mkdir -p $(@D)
	clang -std=c17 -g -O1 -D_GNU_SOURCE -Icommon -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all -o $@ $(filter %.c,$^) $(LIB_msgpack)
fuzzers: $(B)/fuzz/fuzz_proto
