# worker/ build fragment, included by the top Makefile: mnist-worker, the
# serve loop (serve.h) around the image intake and the engine.
WORKER_OBJS := $(B)/obj/worker/serve.o $(B)/obj/worker/main.o $(NNGCLOSE_OBJS) $(PROTO_OBJS)

BINS += $(B)/mnist-worker
$(B)/mnist-worker: $(WORKER_OBJS) $(ENGINE_OBJS) $(IMG_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(ENGINE_LIBS) $(IMG_LIBS) $(LIB_nng) \
	    $(LIB_msgpack) $(LIB_systemd)
