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
