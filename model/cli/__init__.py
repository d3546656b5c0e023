"""Command-line drivers that join layers kept apart below: data with the predictor, training with evaluation."""
