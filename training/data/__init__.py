"""Data set preparation: `ravdess` and `iemocap` turn a data set root into a `datasets.Dataset` with its folds, `demo`
writes a synthetic RAVDESS-format tree, `media` writes and checks media files with PyAV."""
