# frontend/ build fragment, included by the top Makefile.
# mnist-frontend: h2o (evloop build) HTTP side, nng REQ to the workers, the
# api.sock broker and the worker supervisor. See frontend/*.h.

# Debian's libh2o-evloop headers default to the libuv flavour unless told.
$(B)/obj/frontend/%.o: CFLAGS += -DH2O_USE_LIBUV=0

FRONTEND_OBJS := $(addprefix $(B)/obj/frontend/,main.o options.o admit.o http.o framing.o respond.o \
                 predict.o listener.o backend.o broker.o supervisor.o multipart.o \
                 metrics.o static.o png_encode.o health.o) \
                 $(PROTO_OBJS) $(NNGCLOSE_OBJS) $(TLS_OBJS)

BINS += $(B)/mnist-frontend
$(B)/mnist-frontend: $(FRONTEND_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(LIB_h2o) $(LIB_nng) $(LIB_tls) $(LIB_msgpack) \
	    $(LIB_jansson) $(LIB_systemd)

TEST_BINS += $(B)/tests/t_multipart $(B)/tests/t_metrics $(B)/tests/t_static $(B)/tests/t_framing \
             $(B)/tests/t_png_encode
$(B)/tests/t_framing: $(B)/obj/tests/unit/t_framing.o $(B)/obj/frontend/framing.o
TEST_BINS += $(B)/tests/t_admit
$(B)/tests/t_admit: $(B)/obj/tests/unit/t_admit.o $(B)/obj/frontend/admit.o
$(B)/tests/t_multipart: $(B)/obj/tests/unit/t_multipart.o $(B)/obj/frontend/multipart.o \
                        $(COMMON_OBJS)
$(B)/tests/t_metrics: $(B)/obj/tests/unit/t_metrics.o $(B)/obj/frontend/metrics.o $(COMMON_OBJS)
$(B)/tests/t_static: $(B)/obj/tests/unit/t_static.o $(B)/obj/frontend/static.o $(COMMON_OBJS)
# libpng only in the test: it decodes what png_encode wrote.
$(B)/tests/t_png_encode: $(B)/obj/tests/unit/t_png_encode.o $(B)/obj/frontend/png_encode.o \
                         $(COMMON_OBJS)
$(B)/tests/t_png_encode: LDLIBS += $(LIB_png)

FUZZERS += $(B)/fuzz/fuzz_multipart
$(B)/fuzz/fuzz_multipart: tests/fuzz/fuzz_multipart.c frontend/multipart.c common/err.c \
                          frontend/multipart.h common/err.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)
