# tests/ build fragment, included by the top Makefile. Test sources live
# here (unit/ C tests, integration/ shell tests, python/, fuzz/, bench/);
# each module's fragment lists the tests it owns with the objects they
# link, for example:
#   TEST_BINS += $(B)/tests/t_kernels
#   $(B)/tests/t_kernels: $(B)/obj/tests/unit/t_kernels.o $(ENGINE_OBJS) $(COMMON_OBJS)
# and the generic link rule below does the rest (add libraries with
# target-specific LDLIBS).
$(B)/obj/tests/%.o: CFLAGS += -Itests/unit
$(B)/tests/%:
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
