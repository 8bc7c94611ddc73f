# common/ build fragment, included by the top Makefile: what the frontend,
# the worker and the tools share.
# COMMON_OBJS: objects every binary links (errors, config, logging, files,
# the monotonic clock).
COMMON_OBJS := $(addprefix $(B)/obj/common/,err.o config.o log.o file.o clock.o reqid.o)
# PROTO_OBJS: the msgpack codec (common/proto.h); link with $(LIB_msgpack).
PROTO_OBJS  := $(B)/obj/common/proto.o $(B)/obj/common/proto_pack.o
# NNGCLOSE_OBJS: a bounded nng_close (common/nngclose.h); link with $(LIB_nng).
NNGCLOSE_OBJS := $(B)/obj/common/nngclose.o
# TLS_OBJS: the worker link's transport policy and mutual TLS (common/tls.h)
# and the statistics lookup it and the worker's links use (common/nngstat.h);
# link with $(LIB_nng) $(LIB_tls) (mbedTLS, which libnng loads anyway).
TLS_OBJS := $(B)/obj/common/tls.o $(B)/obj/common/nngstat.o
LIB_tls  := -lmbedx509 -lmbedcrypto

TEST_BINS += $(B)/tests/t_config $(B)/tests/t_proto $(B)/tests/t_nngclose $(B)/tests/t_tls
TEST_BINS += $(B)/tests/t_nngstat
$(B)/tests/t_nngstat: $(B)/obj/tests/unit/t_nngstat.o $(B)/obj/common/nngstat.o $(COMMON_OBJS)
$(B)/tests/t_nngstat: LDLIBS += $(LIB_nng) -lpthread
$(B)/tests/t_tls: $(B)/obj/tests/unit/t_tls.o $(TLS_OBJS) $(COMMON_OBJS)
$(B)/tests/t_tls: LDLIBS += $(LIB_nng) $(LIB_tls) -lpthread
$(B)/tests/t_config: $(B)/obj/tests/unit/t_config.o $(COMMON_OBJS)
$(B)/tests/t_proto: $(B)/obj/tests/unit/t_proto.o $(PROTO_OBJS) $(COMMON_OBJS)
$(B)/tests/t_proto: LDLIBS += $(LIB_msgpack)
TEST_BINS += $(B)/tests/t_proto_bad
$(B)/tests/t_proto_bad: $(B)/obj/tests/unit/t_proto_bad.o $(PROTO_OBJS) $(COMMON_OBJS)
$(B)/tests/t_proto_bad: LDLIBS += $(LIB_msgpack)
TEST_BINS += $(B)/tests/t_proto_input
$(B)/tests/t_proto_input: $(B)/obj/tests/unit/t_proto_input.o $(PROTO_OBJS) $(COMMON_OBJS)
$(B)/tests/t_proto_input: LDLIBS += $(LIB_msgpack)
$(B)/tests/t_nngclose: $(B)/obj/tests/unit/t_nngclose.o $(NNGCLOSE_OBJS) $(COMMON_OBJS)
$(B)/tests/t_nngclose: LDLIBS += $(LIB_nng) -lpthread

# libFuzzer harness for the protocol codec.
FUZZERS += $(B)/fuzz/fuzz_proto
$(B)/fuzz/fuzz_proto: tests/fuzz/fuzz_proto.c common/proto.c common/proto_pack.c common/err.c \
                      common/reqid.c common/proto.h common/err.h common/reqid.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(LIB_msgpack)

# Request ids, traceparent, their protocol keys, and JSON log lines (parsed
# back with jansson).
TEST_BINS += $(B)/tests/t_reqid
$(B)/tests/t_reqid: $(B)/obj/tests/unit/t_reqid.o $(PROTO_OBJS) $(COMMON_OBJS)
$(B)/tests/t_reqid: LDLIBS += $(LIB_msgpack) $(LIB_jansson)
