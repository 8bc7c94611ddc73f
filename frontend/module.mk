# frontend/ build fragment, included by the top Makefile.
# mnist-frontend: h2o (evloop build) HTTP side, nng REQ to the workers, the
# api.sock broker and the worker supervisor. See frontend/*.h.

# Debian's libh2o-evloop headers default to the libuv flavour unless told.
$(B)/obj/frontend/%.o: CFLAGS += -DH2O_USE_LIBUV=0

FRONTEND_OBJS := $(addprefix $(B)/obj/frontend/,main.o options.o admit.o http.o framing.o respond.o modelver.o \
                 predict.o predict_multi.o fanout.o v2.o v2_codec.o v2_response.o listener.o backend.o liveness.o broker.o supervisor.o multipart.o \
                 metrics.o static.o png_encode.o cors.o trace.o health.o) \
                 $(PROTO_OBJS) $(NNGCLOSE_OBJS) $(TLS_OBJS)

BINS += $(B)/mnist-frontend
$(B)/mnist-frontend: $(FRONTEND_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(LIB_h2o) $(LIB_nng) $(LIB_tls) $(LIB_msgpack) \
	    $(LIB_jansson) $(LIB_systemd)

TEST_BINS += $(B)/tests/t_multipart $(B)/tests/t_metrics $(B)/tests/t_static $(B)/tests/t_framing \
             $(B)/tests/t_png_encode
$(B)/tests/t_framing: $(B)/obj/tests/unit/t_framing.o $(B)/obj/frontend/framing.o
TEST_BINS += $(B)/tests/t_cors
$(B)/tests/t_cors: $(B)/obj/tests/unit/t_cors.o $(B)/obj/frontend/cors.o $(B)/obj/frontend/respond.o \
                   $(B)/obj/frontend/metrics.o $(B)/obj/frontend/trace.o $(B)/obj/frontend/static.o \
                   $(COMMON_OBJS)
$(B)/tests/t_cors: LDLIBS += $(LIB_h2o) $(LIB_jansson)
$(B)/obj/tests/unit/t_cors.o: CFLAGS += -DH2O_USE_LIBUV=0
TEST_BINS += $(B)/tests/t_admit
$(B)/tests/t_admit: $(B)/obj/tests/unit/t_admit.o $(B)/obj/frontend/admit.o
$(B)/tests/t_multipart: $(B)/obj/tests/unit/t_multipart.o $(B)/obj/frontend/multipart.o \
                        $(COMMON_OBJS)
$(B)/tests/t_metrics: $(B)/obj/tests/unit/t_metrics.o $(B)/obj/frontend/metrics.o $(COMMON_OBJS)
$(B)/tests/t_static: $(B)/obj/tests/unit/t_static.o $(B)/obj/frontend/static.o $(COMMON_OBJS)
$(B)/tests/t_static: LDLIBS += -lcrypto
# libpng only in the test: it decodes what png_encode wrote.
$(B)/tests/t_png_encode: $(B)/obj/tests/unit/t_png_encode.o $(B)/obj/frontend/png_encode.o \
                         $(COMMON_OBJS)
$(B)/tests/t_png_encode: LDLIBS += $(LIB_png)

FUZZERS += $(B)/fuzz/fuzz_multipart
$(B)/fuzz/fuzz_multipart: tests/fuzz/fuzz_multipart.c frontend/multipart.c common/err.c \
                          frontend/multipart.h common/err.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

# The v2 request/response codec and the model-version registry, alone.
TEST_BINS += $(B)/tests/t_v2_codec $(B)/tests/t_modelver
$(B)/tests/t_v2_codec: $(B)/obj/tests/unit/t_v2_codec.o $(B)/obj/frontend/v2_codec.o \
                       $(B)/obj/frontend/v2_response.o $(PROTO_OBJS) $(COMMON_OBJS)
$(B)/tests/t_v2_codec: LDLIBS += $(LIB_jansson) $(LIB_msgpack)
$(B)/tests/t_modelver: $(B)/obj/tests/unit/t_modelver.o $(B)/obj/frontend/modelver.o $(COMMON_OBJS)

FUZZERS += $(B)/fuzz/fuzz_v2
$(B)/fuzz/fuzz_v2: tests/fuzz/fuzz_v2.c frontend/v2_codec.c frontend/v2_response.c common/proto.c \
                   common/err.c common/reqid.c frontend/v2_codec.h common/proto.h common/err.h \
                   common/reqid.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(LIB_jansson) $(LIB_msgpack)

# mnist_build_info{version=...} (frontend/metrics.h): `git describe` of the
# checkout, or "unknown" outside one. metrics.o is rebuilt when it changes
# (the stamp is rewritten only then).
MNIST_VERSION := $(shell git describe --always --dirty --tags 2>/dev/null || echo unknown)
VERSION_STAMP := $(B)/.version
$(shell mkdir -p $(B) && [ "$$(cat $(VERSION_STAMP) 2>/dev/null)" = "$(MNIST_VERSION)" ] || \
    echo "$(MNIST_VERSION)" >$(VERSION_STAMP))
$(B)/obj/frontend/metrics.o: $(VERSION_STAMP)
$(B)/obj/frontend/metrics.o: CFLAGS += -DMNIST_VERSION='"$(MNIST_VERSION)"'
