# tools/ build fragment, included by the top Makefile: command-line tools.
#   mnist-client   calls a worker or the broker over nng (proto only)
#   mnist-predict  decodes and classifies files offline (image + engine)
#   mnist-eval     accuracy of the engine on the TEST split (engine only)
#   mnist-probe    health probe of the frontend for images without curl
BINS += $(B)/mnist-client $(B)/mnist-predict $(B)/mnist-eval $(B)/mnist-probe
$(B)/mnist-probe: $(B)/obj/tools/probe.o $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(B)/mnist-client: $(B)/obj/tools/client.o $(PROTO_OBJS) $(NNGCLOSE_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(LIB_nng) $(LIB_msgpack)
$(B)/mnist-predict: $(B)/obj/tools/predict.o $(IMG_OBJS) $(ENGINE_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(IMG_LIBS) $(ENGINE_LIBS)
$(B)/mnist-eval: $(B)/obj/tools/eval.o $(ENGINE_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(ENGINE_LIBS)
