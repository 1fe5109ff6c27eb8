/* api_placements: handlers for /v1/placements: validate input, then one call into the database. */
#ifndef RB_API_PLACEMENTS_H
#define RB_API_PLACEMENTS_H

#include "api.h"

void api_placement_create(struct api_call *c);
void api_placement_get(struct api_call *c);
void api_placement_list(struct api_call *c);
void api_placement_search(struct api_call *c);
void api_placement_move_in(struct api_call *c);
void api_placement_move_out(struct api_call *c);
void api_placement_correct(struct api_call *c);

#endif
