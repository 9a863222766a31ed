/* The C API used from C (this file is compiled as C): called by c_api_test.cpp with a model, a
 * wav, its samples and the embedding the C++ API gives for them. Returns 0, or 1 with a message
 * in msg naming the failed check. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "speakernet/c_api.h"

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      snprintf(msg, (size_t)msg_size, "%s:%d: %s (last error: %s)", __FILE__, __LINE__, #cond, \
               speakernet_last_error());                                        \
      goto done;                                                                 \
    }                                                                            \
  } while (0)

static float max_abs_diff(const float* a, const float* b, int n) {
  float d = 0;
  for (int i = 0; i < n; ++i) d = fmaxf(d, fabsf(a[i] - b[i]));
  return d;
}

int speakernet_c_api_checks(const char* model, const char* wav, const float* samples, long n,
                            const float* expected, int dim, char* msg, int msg_size) {
  int status = 1;
  const char* error = NULL;
  SpeakernetEmbedder* e = NULL;
  SpeakernetRegistry* r = NULL;
  float* v = (float*)calloc((size_t)dim, sizeof(float));
  float* neg = (float*)calloc((size_t)dim, sizeof(float));
  char name[64];
  float score = 0;

  /* Failures: NULL plus a message naming the culprit. */
  CHECK(speakernet_embedder_load("/no/such/model", &error) == NULL);
  CHECK(error != NULL && strstr(error, "/no/such/model") != NULL);
  CHECK(speakernet_embedder_load(NULL, NULL) == NULL);
  CHECK(strstr(speakernet_last_error(), "NULL") != NULL);
  CHECK(speakernet_embedder_dim(NULL) == -1);

  e = speakernet_embedder_load(model, &error);
  CHECK(e != NULL && error == NULL);
  CHECK(speakernet_embedder_dim(e) == dim);
  CHECK(speakernet_embedder_sample_rate(e) == 16000);
  CHECK(speakernet_embedder_embed_file(e, wav, v) == 0);
  CHECK(max_abs_diff(v, expected, dim) <= 1e-5f);
  memset(v, 0, sizeof(float) * (size_t)dim);
  CHECK(speakernet_embedder_embed(e, samples, n, 16000, v) == 0);
  CHECK(max_abs_diff(v, expected, dim) <= 1e-5f);
  CHECK(speakernet_embedder_embed(e, samples, 0, 16000, v) == -1);
  CHECK(strstr(speakernet_last_error(), "no samples") != NULL);
  CHECK(speakernet_embedder_embed_file(e, "/no/such.wav", v) == -1);
  CHECK(strstr(speakernet_last_error(), "/no/such.wav") != NULL);
  CHECK(speakernet_cosine_score(expected, expected, dim, &score) == 0 && fabsf(score - 1) < 1e-6f);

  /* Registry: alice = expected, bob = -expected. */
  for (int i = 0; i < dim; ++i) neg[i] = -expected[i];
  r = speakernet_registry_new(dim);
  CHECK(r != NULL);
  CHECK(speakernet_registry_enroll(r, "alice", expected, 1) == 0);
  CHECK(speakernet_registry_enroll(r, "bob", neg, 1) == 0);
  CHECK(speakernet_registry_size(r) == 2);
  CHECK(speakernet_registry_identify(r, expected, 0.5f, name, sizeof name, &score) == 1);
  CHECK(strcmp(name, "alice") == 0 && fabsf(score - 1) < 1e-6f);
  CHECK(speakernet_registry_verify(r, "bob", expected, 0.f, &score) == 0);
  CHECK(fabsf(score + 1) < 1e-6f);
  CHECK(speakernet_registry_verify(r, "alice", expected, 0.99f, NULL) == 1);
  CHECK(speakernet_registry_verify(r, "carol", expected, 0.f, NULL) == -1);
  CHECK(strstr(speakernet_last_error(), "carol") != NULL);
  CHECK(speakernet_registry_remove(r, "bob") == 0);
  CHECK(speakernet_registry_remove(r, "bob") == -1);
  CHECK(speakernet_registry_size(r) == 1);
  CHECK(speakernet_registry_name(r, 0, name, sizeof name) == 0 && strcmp(name, "alice") == 0);
  CHECK(speakernet_registry_name(r, 0, name, 3) == -1);
  CHECK(speakernet_registry_name(r, 1, name, sizeof name) == -1);
  CHECK(speakernet_registry_identify(r, neg, 0.5f, name, sizeof name, &score) == 0);
  CHECK(speakernet_registry_new(0) == NULL);
  status = 0;
done:
  speakernet_registry_free(r);
  speakernet_embedder_free(e);
  free(v);
  free(neg);
  return status;
}
