"""Synthetic demo data in exactly Attune's input format: never real people's data.

`attune generate` is the way in; `synthetic.dataset.generate_dataset` does the work. The world
it simulates (programmes, scales, rates) is data, in `world.yaml`. Importing this package
alone stays light, so the command line can show its defaults without loading numpy.
"""

# The shipped demo (attune/demo_data/) is the shipped world with these participants and this seed.
DEMO_PARTICIPANTS = 2400
DEMO_SEED = 2026
