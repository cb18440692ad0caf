"""preflight's own state on this machine: the result cache, file digests, its folders, private state files and the crash log."""
