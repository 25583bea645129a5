"""Faces and the index: pure Python, dlib, numpy and Annoy. Nothing here imports Flask.

- ``images``   loading photos safely (format from content, EXIF, pixel limits)
- ``faces``    detection, landmarks, aligned chips, descriptors, quality figures
- ``scoring``  distance to a 0-100 similarity score
- ``index``    versioned Annoy + exact-scan files, atomic switch, search
- ``bench``    the benchmark (``python -m app.matching.bench``)
"""
