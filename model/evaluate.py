"""``python -m model.evaluate`` — see :mod:`model.eval.evaluate`."""

from model.eval.evaluate import main

if __name__ == "__main__":
    main()
