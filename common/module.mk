# common/ build fragment, included by the top Makefile.
# COMMON_OBJS: objects every binary links.
COMMON_OBJS := $(B)/obj/common/err.o
