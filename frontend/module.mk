# frontend/ build fragment, included by the top Makefile.
# mnist-frontend: h2o (evloop build) HTTP side, nng REQ to the workers, the
# api.sock broker and the worker supervisor. See frontend/*.h.

# Debian's libh2o-evloop headers default to the libuv flavour unless told.
$(B)/obj/frontend/%.o $(B)/obj/tests/t_frontend%.o: CFLAGS += -DH2O_USE_LIBUV=0

MULTIPART_OBJS := $(B)/obj/frontend/multipart.o
FRONTEND_OBJS  := $(B)/obj/frontend/main.o $(B)/obj/frontend/http.o \
                  $(B)/obj/frontend/listener.o \
                  $(B)/obj/frontend/backend.o $(B)/obj/frontend/broker.o \
                  $(B)/obj/frontend/supervisor.o $(MULTIPART_OBJS) \
                  $(B)/obj/frontend/metrics.o $(B)/obj/frontend/static.o \
                  $(PROTO_OBJS) $(NNGCLOSE_OBJS)

BINS += $(B)/mnist-frontend
$(B)/mnist-frontend: $(FRONTEND_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(LIB_h2o) $(LIB_nng) $(LIB_msgpack) \
	    $(LIB_jansson) $(LIB_systemd)

TEST_BINS += $(B)/tests/t_multipart
$(B)/tests/t_multipart: $(B)/obj/tests/t_multipart.o $(MULTIPART_OBJS) $(COMMON_OBJS)

# libFuzzer harnesses: clang, built apart from the normal objects.
FUZZ_CC     ?= clang
FUZZ_CFLAGS := -std=c17 -g -O1 -D_GNU_SOURCE -Icommon -Ifrontend \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZERS += $(B)/fuzz/fuzz_multipart
$(B)/fuzz/fuzz_multipart: tests/fuzz_multipart.c frontend/multipart.c common/err.c \
                          frontend/multipart.h common/err.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

.PHONY: fuzzers
fuzzers: $(FUZZERS)
