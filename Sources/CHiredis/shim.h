#ifndef SCUTUM_CHIREDIS_SHIM_H
#define SCUTUM_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

/// The reader's error flag (a macro in hiredis).
static inline int scutum_reader_err(redisReader *r) { return r->err; }
/// The reader's error text (a char array that imports as a tuple).
static inline const char *scutum_reader_errstr(redisReader *r) { return r->errstr; }
/// Element i of an array reply.
static inline redisReply *scutum_reply_element(redisReply *r, size_t i) { return r->element[i]; }
#endif
