"""The distance between a platform's rear wheels, which opendbc does not carry: paramsd turns the rear wheels' speed
difference into the car's yaw rate with it, and learns the steer ratio from that. A platform missing here keeps
opendbc's steer ratio. A track 1 % off makes the learnt ratio 1 % off.
"""
RAV4_2019_REAR_TRACK_M = 1.62   # the 2019+ RAV4's rear tread as Toyota publishes it (trims differ by about a cm;
                                # not measured here)

REAR_TRACK_M = {
  "TOYOTA_RAV4_TSS2": RAV4_2019_REAR_TRACK_M,
  "TOYOTA_RAV4_TSS2_2022": RAV4_2019_REAR_TRACK_M,
  "TOYOTA_RAV4_TSS2_2023": RAV4_2019_REAR_TRACK_M,
}


def rear_track(platform: str) -> float:
  """m; 0.0 where not known."""
  return REAR_TRACK_M.get(platform, 0.0)
