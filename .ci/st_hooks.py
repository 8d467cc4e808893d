"""schemathesis hooks for momo's API fuzzing (.ci/api-fuzz).

Resumable uploads take their chunks as tus's `application/offset+octet-stream`, which is
bytes like `application/octet-stream`: send it the same way."""
import schemathesis

schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
