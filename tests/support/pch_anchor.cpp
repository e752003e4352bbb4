// Anchors the precompiled header shared by every test binary.
