"""The whole pipeline on whole archives: the generated example archive and the real one in ../shared."""
