/* health: the probes' verdict (see health.h). */
#include "health.h"

struct health health_check(const struct backend *b, bool draining)
{
	long n = backend_workers(b);

	return (struct health){
	    .live = true, .ready = !draining && backend_healthy(b), .workers = n > 0 ? n : 0};
}
