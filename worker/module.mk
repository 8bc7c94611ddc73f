# worker/ build fragment, included by the top Makefile: mnist-worker, the
# serve loop (serve.h: nng side in serve.c, decode pool and compute thread
# in work.c, thread liveness in beat.c, header-only cost in cost.c) around
# the image intake and the engine.
WORKER_OBJS := $(addprefix $(B)/obj/worker/,serve.o work.o beat.o cost.o reload.o links.o main.o) \
               $(NNGCLOSE_OBJS) $(PROTO_OBJS) $(TLS_OBJS)

BINS += $(B)/mnist-worker
$(B)/mnist-worker: $(WORKER_OBJS) $(ENGINE_OBJS) $(IMG_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(ENGINE_LIBS) $(IMG_LIBS) $(LIB_nng) $(LIB_tls) \
	    $(LIB_msgpack) $(LIB_systemd) -lcrypto

TEST_BINS += $(B)/tests/t_cost
$(B)/tests/t_cost: $(B)/obj/tests/unit/t_cost.o $(B)/obj/worker/cost.o
