"""Training TACFN: data set preparation (`training.data`), metrics (`training.metrics`) and the Trainer recipe."""
