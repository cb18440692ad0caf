"""Uploading at the edge: content-addressed, checksummed, resumable S3 multipart uploads and
presigned URLs. Nothing here analyses media."""
