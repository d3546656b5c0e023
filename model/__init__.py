"""RSC-Net training package: body model, renderer, synthetic data, networks, losses, trainers, evaluation."""
