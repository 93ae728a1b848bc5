"""The lessons wing: one module per notebook, where figures, widgets and lesson-only experiments live.

The core (:mod:`colorlib`) never imports this package. Each module names its notebook:

- :mod:`~colorlib.lessons.plot` (all): saving figures, image grids;
- :mod:`~colorlib.lessons.layers` (02, 03): describing layers, counting parameters;
- :mod:`~colorlib.lessons.color_space` (01): Lab edits, swatches, the ab plane; their sliders;
- :mod:`~colorlib.lessons.encoder_anatomy` (02): Figure 2's table, Figures 3 and 4, feature maps, receptive fields;
- :mod:`~colorlib.lessons.decoder_anatomy` (03): mosaics, the border frame, the checkerboard, up-sampling;
- :mod:`~colorlib.lessons.authors_checkpoints` (02, 03): what the authors' checkpoint files contain;
- :mod:`~colorlib.lessons.training` (04): constant baselines, where a step's time goes;
- :mod:`~colorlib.lessons.evaluation` (05): the comparison grid of colorizers;
- :mod:`~colorlib.lessons.paper_figures` (05): the paper's PDF and its Figures 1, 5, 6;
- :mod:`~colorlib.lessons.dullness` (05): the toy experiment on MSE's averaging;
- :mod:`~colorlib.lessons.beyond_mse` (06): bins drawn, modes, temperature and pixel widgets, the loss table;
- :mod:`~colorlib.lessons.your_photos` (07): the photo colorizer widget;
"""
