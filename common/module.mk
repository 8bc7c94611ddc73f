# common/ build fragment, included by the top Makefile.
# COMMON_OBJS: objects every binary links (errors, config, logging).
COMMON_OBJS := $(B)/obj/common/err.o $(B)/obj/common/config.o $(B)/obj/common/log.o
CONFIG_OBJS := $(B)/obj/common/config.o
LOG_OBJS    := $(B)/obj/common/log.o
