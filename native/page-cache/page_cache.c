/*
 * dropCache(fd, offset, length): Promise<boolean>
 *
 * Asks the kernel to drop the page cache of a byte range of an open file (posix_fadvise with
 * POSIX_FADV_DONTNEED), on libuv's thread pool so the event loop never waits for it. The kernel
 * drops only clean pages, so the caller makes the range durable first (fdatasync); what it keeps
 * is a matter of speed, never of the file's contents. Resolves true once advised, false where the
 * platform has no such advice (the caller then keeps the pages cached, as before).
 *
 * Why a download wants it: see lib/transfer/page-cache.node.ts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int fd;
  int64_t offset;
  int64_t length;
  int advised;
  int error;
} DropJob;

static void run_drop(napi_env env, void *data) {
  (void)env;
  DropJob *job = data;
#ifdef POSIX_FADV_DONTNEED
  job->error = posix_fadvise(job->fd, (off_t)job->offset, (off_t)job->length, POSIX_FADV_DONTNEED);
  job->advised = job->error == 0;
#else
  job->advised = 0;
#endif
}

static void finish_drop(napi_env env, napi_status status, void *data) {
  DropJob *job = data;
  napi_value value;
  if (status == napi_ok && job->error == 0) {
    napi_get_boolean(env, job->advised, &value);
    napi_resolve_deferred(env, job->deferred, value);
  } else {
    napi_value message;
    const char *text = status == napi_ok ? strerror(job->error) : "page cache advice was cancelled";
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &value);
    napi_reject_deferred(env, job->deferred, value);
  }
  napi_delete_async_work(env, job->work);
  free(job);
}

/* Reads `arg` as a whole number from 0 to `max`; returns 0 after throwing a TypeError if it is not one. */
static int read_whole(napi_env env, napi_value arg, const char *name, int64_t max, int64_t *out) {
  double value;
  if (napi_get_value_double(env, arg, &value) != napi_ok || !(value >= 0) || value > (double)max ||
      value != (double)(int64_t)value) {
    char message[96];
    snprintf(message, sizeof message, "dropCache: %s must be a whole number from 0", name);
    napi_throw_type_error(env, NULL, message);
    return 0;
  }
  *out = (int64_t)value;
  return 1;
}

static napi_value drop_cache(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  if (argc != 3) {
    napi_throw_type_error(env, NULL, "dropCache(fd, offset, length) takes three numbers");
    return NULL;
  }
  int64_t fd, offset, length;
  /* 2^53: the largest offset a JavaScript number holds exactly. */
  const int64_t max_offset = (int64_t)1 << 53;
  if (!read_whole(env, args[0], "fd", INT32_MAX, &fd) || !read_whole(env, args[1], "offset", max_offset, &offset) ||
      !read_whole(env, args[2], "length", max_offset, &length))
    return NULL;

  DropJob *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, NULL, "dropCache: out of memory");
    return NULL;
  }
  job->fd = (int)fd;
  job->offset = offset;
  job->length = length;
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "swarmdrop:dropCache", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, run_drop, finish_drop, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "dropCache", NAPI_AUTO_LENGTH, drop_cache, NULL, &fn);
  napi_set_named_property(env, exports, "dropCache", fn);
  return exports;
}
