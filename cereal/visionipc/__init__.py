"""VisionIPC: camera frames between processes through shared memory, with a small zmq notification per frame."""
from cereal.visionipc.buffers import Layout, PixelFormat, VisionBuf, VisionStreamType
from cereal.visionipc.client import VisionIpcClient
from cereal.visionipc.server import VisionIpcServer

__all__ = ["Layout", "PixelFormat", "VisionBuf", "VisionIpcClient", "VisionIpcServer", "VisionStreamType"]
