"""frameflow: exact frames from video, in-process, on frameflow's media core.

``VideoDecoder`` is a drop-in for ``torchcodec.decoders.VideoDecoder`` (CPU): the same
constructor, metadata, indexing and ``get_frame*`` methods, with frames bit-identical to the
FFmpeg CLI's. ``frameflow.samplers`` has torchcodec's clip samplers, computed by the same code
as frameflow's server-side sampler components (one seed, the same clips everywhere).
``AudioDecoder`` is torchcodec's ``AudioDecoder``: float32 samples bit-identical to
``ffmpeg -f f32le``, with ``sample_rate=``/``num_channels=`` conversion.
``frameflow.Client`` is the HTTP API; ``frameflow.torch`` has the PyTorch datasets.
"""

from ._audio import AudioDecoder, AudioSamples, AudioStreamMetadata
from ._decoder import Frame, FrameBatch, VideoDecoder, VideoStreamMetadata
from .client import Client, FrameflowError

__all__ = ["AudioDecoder", "AudioSamples", "AudioStreamMetadata", "Client", "Frame", "FrameBatch", "FrameflowError", "VideoDecoder", "VideoStreamMetadata"]
__version__ = "0.1.0"
