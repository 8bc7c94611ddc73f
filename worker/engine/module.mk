# worker/engine/ build fragment, included by the top Makefile.
# ENGINE_OBJS: the inference engine (model.h, kernels.h, the safetensors
# reader sft.h); link with $(ENGINE_LIBS).
ENGINE_OBJS := $(addprefix $(B)/obj/worker/engine/,model.o model_int8.o kernels.o \
               kernels_avx2.o kernels_avx512.o kernels_int8.o kernels_int8_avx512.o \
               kernels_int8_avxvnni.o kernels_bf16_avx512.o sft.o)
# Only these five files get ISA flags; kernels.c and kernels_int8.c call them after checking
# the CPU, so the binaries run on any x86-64. -O3 unrolls the register
# blocks completely (at -O2 the accumulators spill and the GEMM runs at 1/5).
$(B)/obj/worker/engine/kernels_avx2.o: CFLAGS += -O3 -mavx2 -mfma
$(B)/obj/worker/engine/kernels_avx512.o: CFLAGS += -O3 -mavx512f -mavx2 -mfma
$(B)/obj/worker/engine/kernels_int8_avx512.o: CFLAGS += -O3 -mavx512f -mavx512bw -mavx512vnni \
                                               -mavx2 -mfma
$(B)/obj/worker/engine/kernels_int8_avxvnni.o: CFLAGS += -O3 -mavxvnni -mavx2 -mfma
$(B)/obj/worker/engine/kernels_bf16_avx512.o: CFLAGS += -O3 -mavx512f -mavx512bw -mavx512bf16 \
                                               -mavx2 -mfma
ENGINE_LIBS := $(LIB_blas) $(LIB_jansson) $(LIB_crypto)
$(B)/obj/worker/engine/%.o: CFLAGS += $(filter -I%,$(LIB_blas))

TEST_BINS += $(B)/tests/t_sft $(B)/tests/t_kernels $(B)/tests/t_kernels_int8 $(B)/tests/t_model
$(B)/tests/t_sft: $(B)/obj/tests/unit/t_sft.o $(B)/obj/worker/engine/sft.o $(COMMON_OBJS)
$(B)/tests/t_sft: LDLIBS += $(LIB_jansson)
$(B)/tests/t_kernels: $(B)/obj/tests/unit/t_kernels.o $(ENGINE_OBJS) $(COMMON_OBJS)
$(B)/tests/t_kernels: LDLIBS += $(ENGINE_LIBS)
$(B)/tests/t_kernels_int8: $(B)/obj/tests/unit/t_kernels_int8.o $(ENGINE_OBJS) $(COMMON_OBJS)
$(B)/tests/t_kernels_int8: LDLIBS += $(ENGINE_LIBS)
$(B)/tests/t_model: $(B)/obj/tests/unit/t_model.o $(ENGINE_OBJS) $(COMMON_OBJS)
$(B)/tests/t_model: LDLIBS += $(ENGINE_LIBS)

# make bench runs the engine benchmark (tests/bench/bench.sh, engine section).
bench: $(B)/tests/bench_engine
$(B)/tests/bench_engine: $(B)/obj/tests/bench/bench_engine.o $(ENGINE_OBJS) $(COMMON_OBJS)
$(B)/tests/bench_engine: LDLIBS += $(ENGINE_LIBS)

# make weights-int8: the int8 engine's weights from the float32 ones,
# calibrated on TRAIN (weights/quantize.py; about 2 min on 2 cores). The
# result is committed; tests/python/test_int8.py checks it is this output.
.PHONY: weights-int8
weights-int8: data
	OPENBLAS_NUM_THREADS=1 /usr/bin/python3 weights/quantize.py $(DATA) $(WEIGHTS) \
	    weights/model-int8.safetensors
