"""What the camera sees of a seed's world: its road, look, camera mount and renderer.

World builds one to drive in; camerad builds the same one from the seed in simState and renders each frame from
the pose and cars simState carries, so physics and rendering run in separate processes on separate cores.
"""
import numpy as np

from tools.sim.camera import Camera
from tools.sim.look import Look
from tools.sim.render import Pose, Renderer
from tools.sim.road import SIM_ROADS, Road, RoadShape
from tools.sim.traffic import Car

# the seed's independent random streams: what each part of the world draws from
ROAD_RNG, LOOK_RNG, CAMERA_RNG, LANE_RNG, TRAFFIC_RNG, RENDER_RNG = range(6)


def world_rngs(seed: int) -> list[np.random.Generator]:
  return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]


class Scene:
  def __init__(self, seed: int, width: int, height: int, road: RoadShape = SIM_ROADS):
    rngs = world_rngs(seed)
    self.road = Road(rngs[ROAD_RNG], road)
    self.look = Look.sample(rngs[LOOK_RNG])
    self.camera = Camera.sample(rngs[CAMERA_RNG], width, height)
    self.renderer = Renderer(self.camera, self.road, self.look, rngs[RENDER_RNG])

  def render(self, sim_state) -> np.ndarray:
    """RGB frame of a simState message (what camerad gets)."""
    p = sim_state.pose
    cars = [Car(id=c.id, kind=c.kind, length=c.length, width=c.width, height=c.height,
                color=(int(c.color[0]), int(c.color[1]), int(c.color[2])), s=c.s, d=c.d, v=c.v, v_cruise=c.v, a=c.a)
            for c in sim_state.cars]
    return self.renderer.render(Pose(p.x, p.y, p.yaw, p.s), cars)
