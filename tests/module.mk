# tests/ build fragment, included by the top Makefile.
# A C unit test tests/t_NAME.c becomes $(B)/tests/t_NAME. Each module adds
# its own tests to TEST_BINS with the objects they link, for example:
#   TEST_BINS += $(B)/tests/t_kernels
#   $(B)/tests/t_kernels: $(B)/obj/tests/t_kernels.o $(ENGINE_OBJS) $(COMMON_OBJS)
# and the generic link rule below does the rest (add libraries with
# target-specific LDLIBS).
$(B)/tests/%:
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

TEST_BINS += $(B)/tests/t_config
$(B)/tests/t_config: $(B)/obj/tests/t_config.o $(COMMON_OBJS)
