__version__ = "0.1.0"

import warnings
# fastai's imports call torch.jit.script, which torch 2.9+ deprecates: nothing a user of this library can act on
warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
# and set a pandas option that pandas 3 deprecates
warnings.filterwarnings('ignore', message=r"The 'mode\.chained_assignment' option is deprecated")
