"""`python3 -m train`: the whole pipeline (pipeline.py)."""
import sys

from train.pipeline import main

sys.exit(main())
