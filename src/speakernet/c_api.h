/* speakernet's C API: speaker embeddings, cosine scores and a speaker registry for programs in C
 * and for other languages' foreign-function interfaces. It wraps speakernet/speakernet.h; no C++
 * exception crosses it. Functions that can fail return a status (0 = success, -1 = error) or
 * NULL, and record a message that speakernet_last_error() returns.
 *
 *   #include <speakernet/c_api.h>
 *
 *   const char* err = NULL;
 *   SpeakernetEmbedder* e = speakernet_embedder_load("model.snm", &err);
 *   if (!e) { fprintf(stderr, "%s\n", err); return 1; }
 *   float* v = malloc(sizeof(float) * speakernet_embedder_dim(e));
 *   if (speakernet_embedder_embed_file(e, "a.wav", v) != 0) puts(speakernet_last_error());
 *   speakernet_embedder_free(e);
 *
 * Error messages are owned by the library and stay valid until the next speakernet call on the
 * same thread. Embedders may be used from several threads at once (embed, embed_file); a
 * registry too (its functions lock). See docs/library.md. */
#ifndef SPEAKERNET_C_API_H_
#define SPEAKERNET_C_API_H_

#ifdef __cplusplus
extern "C" {
#endif

typedef struct SpeakernetEmbedder SpeakernetEmbedder;
typedef struct SpeakernetRegistry SpeakernetRegistry;

/* The message of the last failed call on this thread ("" when none failed). */
const char* speakernet_last_error(void);

/* Loads a model file (.snm) or an experiment directory (its newest checkpoint). On failure
 * returns NULL and, when error is not NULL, sets *error to the message. */
SpeakernetEmbedder* speakernet_embedder_load(const char* path, const char** error);
void speakernet_embedder_free(SpeakernetEmbedder* embedder); /* NULL is allowed */

int speakernet_embedder_dim(const SpeakernetEmbedder* embedder);         /* -1 on NULL */
int speakernet_embedder_sample_rate(const SpeakernetEmbedder* embedder); /* -1 on NULL */
/* The model file's calibrated threshold: 0 and *threshold set, or -1 when it has none. */
int speakernet_embedder_threshold(const SpeakernetEmbedder* embedder, float* threshold);

/* The embedding of n mono samples in [-1, 1] at sample_rate (resampled to the model's) into
 * out[0 .. dim-1]. 0 on success. */
int speakernet_embedder_embed(SpeakernetEmbedder* embedder, const float* samples, long n,
                              int sample_rate, float* out);
/* The embedding of an audio file (any format/rate the CLI reads) into out[0 .. dim-1]. */
int speakernet_embedder_embed_file(SpeakernetEmbedder* embedder, const char* path, float* out);

/* Cosine similarity of a[0 .. dim-1] and b[0 .. dim-1] into *score. 0 on success. */
int speakernet_cosine_score(const float* a, const float* b, int dim, float* score);

/* A registry of enrolled speakers (name -> mean embedding) of dimension dim; NULL on error. */
SpeakernetRegistry* speakernet_registry_new(int dim);
void speakernet_registry_free(SpeakernetRegistry* registry); /* NULL is allowed */
/* Adds num embeddings (num x dim floats, row after row) to speaker name. 0 on success. */
int speakernet_registry_enroll(SpeakernetRegistry* registry, const char* name,
                               const float* embeddings, int num);
/* 0 when name was removed, -1 when it was not enrolled (or on error). */
int speakernet_registry_remove(SpeakernetRegistry* registry, const char* name);
int speakernet_registry_size(const SpeakernetRegistry* registry); /* -1 on error */
/* The i-th enrolled name in sorted order (copied into buf of buf_size bytes, NUL-terminated).
 * 0 on success, -1 when i is out of range or buf too small. */
int speakernet_registry_name(const SpeakernetRegistry* registry, int i, char* buf, int buf_size);
/* Scores embedding against name into *score (may be NULL); returns 1 (accept: score >=
 * threshold), 0 (reject) or -1 (error, e.g. name not enrolled). */
int speakernet_registry_verify(const SpeakernetRegistry* registry, const char* name,
                               const float* embedding, float threshold, float* score);
/* The best-scoring speaker: returns 1 and copies its name into buf (buf_size bytes) when its
 * score is >= threshold, 0 when none is, -1 on error; *score (may be NULL) is the best score. */
int speakernet_registry_identify(const SpeakernetRegistry* registry, const float* embedding,
                                 float threshold, char* buf, int buf_size, float* score);

#ifdef __cplusplus
}
#endif

#endif /* SPEAKERNET_C_API_H_ */
