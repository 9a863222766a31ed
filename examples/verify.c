/* Speaker verification with speakernet's C API: the cosine score of a test file against an
 * enrolment file, accepted when it reaches the threshold (the model file's calibrated one, or
 * the third argument).
 *   verify_c MODEL enrol.wav test.wav [THRESHOLD] */
#include <speakernet/c_api.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s MODEL enrol.wav test.wav [THRESHOLD]\n", argv[0]);
    return 2;
  }
  const char* error = NULL;
  SpeakernetEmbedder* embedder = speakernet_embedder_load(argv[1], &error);
  if (embedder == NULL) {
    fprintf(stderr, "error: %s\n", error);
    return 1;
  }
  int status = 1;
  const int dim = speakernet_embedder_dim(embedder);
  float* enrol = malloc(sizeof(float) * (size_t)dim);
  float* test = malloc(sizeof(float) * (size_t)dim);
  float score = 0, threshold = 0;
  if (speakernet_embedder_embed_file(embedder, argv[2], enrol) != 0 ||
      speakernet_embedder_embed_file(embedder, argv[3], test) != 0 ||
      speakernet_cosine_score(enrol, test, dim, &score) != 0) {
    fprintf(stderr, "error: %s\n", speakernet_last_error());
    goto done;
  }
  if (argc > 4) {
    threshold = strtof(argv[4], NULL);
  } else if (speakernet_embedder_threshold(embedder, &threshold) != 0) {
    fprintf(stderr, "error: the model has no calibrated threshold; give one\n");
    goto done;
  }
  printf("dim %d score %.6f threshold %.6f %s\n", dim, score, threshold,
         score >= threshold ? "accept" : "reject");
  status = 0;
done:
  free(enrol);
  free(test);
  speakernet_embedder_free(embedder);
  return status;
}
