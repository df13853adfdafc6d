from typing import List, Optional, Tuple

import numpy as np

class CoreVideo:
    def __init__(self, path: str, stream_index: Optional[int] = None, threads: int = 1) -> None: ...
    def info_json(self) -> str: ...
    def pts(self) -> List[int]: ...
    def durations(self) -> List[int]: ...
    def index_of_pts(self, pts: int) -> int: ...
    def frames_decoded(self) -> int: ...
    def decode(
        self,
        indices: List[int],
        width: Optional[int] = None,
        height: Optional[int] = None,
        crop: Optional[Tuple[int, int, int, int]] = None,
    ) -> Tuple[np.ndarray, int, int]: ...
    def flow(
        self,
        pairs: List[Tuple[int, int]],
        algorithm: str,
        width: Optional[int] = None,
        height: Optional[int] = None,
        crop: Optional[Tuple[int, int, int, int]] = None,
    ) -> Tuple[np.ndarray, int, int]: ...

def header_json(path: str) -> str: ...
def plan_clips(
    strategy: str,
    frame_count: int,
    avg_fps: float,
    start_seconds: float,
    duration_seconds: float,
    params_json: str,
    seed: int,
) -> List[Tuple[List[Tuple[str, float]], List[Tuple[str, float]]]]: ...
