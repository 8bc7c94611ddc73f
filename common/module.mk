# common/ build fragment, included by the top Makefile.
# COMMON_OBJS: objects every binary links (errors, config, logging).
COMMON_OBJS := $(B)/obj/common/err.o $(B)/obj/common/config.o $(B)/obj/common/log.o
CONFIG_OBJS := $(B)/obj/common/config.o
LOG_OBJS    := $(B)/obj/common/log.o
# PROTO_OBJS: the msgpack codec (common/proto.h); link with $(LIB_msgpack).
PROTO_OBJS  := $(B)/obj/common/proto.o
TEST_BINS   += $(B)/tests/t_proto
$(B)/tests/t_proto: $(B)/obj/tests/t_proto.o $(PROTO_OBJS) $(COMMON_OBJS)
$(B)/tests/t_proto: LDLIBS += $(LIB_msgpack)
# NNGCLOSE_OBJS: a bounded nng_close (common/nngclose.h); link with $(LIB_nng).
NNGCLOSE_OBJS := $(B)/obj/common/nngclose.o
TEST_BINS   += $(B)/tests/t_nngclose
$(B)/tests/t_nngclose: $(B)/obj/tests/t_nngclose.o $(NNGCLOSE_OBJS) $(COMMON_OBJS)
$(B)/tests/t_nngclose: LDLIBS += $(LIB_nng) -lpthread
# SFT_OBJS: the safetensors reader (common/sft.h); link with $(LIB_jansson).
SFT_OBJS    := $(B)/obj/common/sft.o
TEST_BINS   += $(B)/tests/t_sft
$(B)/tests/t_sft: $(B)/obj/tests/t_sft.o $(SFT_OBJS) $(COMMON_OBJS)
$(B)/tests/t_sft: LDLIBS += $(LIB_jansson)
