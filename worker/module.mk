# worker/ build fragment, included by the top Makefile.
# ENGINE_OBJS: the inference engine (worker/model.h, worker/kernels.h and the
# safetensors reader); link with $(ENGINE_LIBS).
ENGINE_OBJS := $(B)/obj/worker/model.o $(B)/obj/worker/kernels.o $(SFT_OBJS)
ENGINE_LIBS := $(LIB_blas) $(LIB_jansson)
CFLAGS      += $(filter -I%,$(LIB_blas))

BINS += $(B)/mnist-eval
$(B)/mnist-eval: $(B)/obj/worker/eval_main.o $(ENGINE_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(ENGINE_LIBS)

TEST_BINS += $(B)/tests/t_kernels $(B)/tests/t_model
$(B)/tests/t_kernels: $(B)/obj/tests/t_kernels.o $(ENGINE_OBJS) $(COMMON_OBJS)
$(B)/tests/t_kernels: LDLIBS += $(ENGINE_LIBS)
$(B)/tests/t_model: $(B)/obj/tests/t_model.o $(ENGINE_OBJS) $(COMMON_OBJS)
$(B)/tests/t_model: LDLIBS += $(ENGINE_LIBS)
