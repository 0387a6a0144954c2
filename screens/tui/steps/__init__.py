"""One module per wizard step, in order: welcome, trail, storage, prefix, encryption, delivery,
events, review, apply, done.
"""
