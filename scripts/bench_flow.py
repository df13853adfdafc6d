"""opencv-python side of the flow benchmark: the same calls as frameflow's FlowEngine."""
import json, sys, time
import cv2

a, b = sys.argv[1], sys.argv[2]
budget = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
prev, nxt = cv2.imread(a, 0), cv2.imread(b, 0)
algos = {
    "farneback": lambda p, n: cv2.calcOpticalFlowFarneback(p, n, None, 0.5, 3, 15, 3, 5, 1.2, 0),
    "dis-ultrafast": lambda p, n: cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST).calc(p, n, None),
    "dis-fast": lambda p, n: cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST).calc(p, n, None),
    "dis-medium": lambda p, n: cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(p, n, None),
}
if hasattr(cv2, "optflow"):
    algos["tvl1"] = lambda p, n: cv2.optflow.DualTVL1OpticalFlow_create().calc(p, n, None)
for name, f in algos.items():
    f(prev, nxt)
    start, pairs = time.perf_counter(), 0
    while time.perf_counter() - start < budget or pairs < 3:
        f(prev, nxt)
        pairs += 1
    rate = pairs / (time.perf_counter() - start)
    print(json.dumps({"tool": "opencv-python " + cv2.__version__, "algorithm": name,
                      "size": f"{prev.shape[1]}x{prev.shape[0]}", "pairs_per_s": round(rate, 2), "pairs": pairs}))
