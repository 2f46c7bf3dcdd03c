"""Build of the compiled core ``nasbench_suite._core`` (C++17, pybind11).

Everything else about the package lives in ``pyproject.toml``.
"""
import sys

from pybind11.setup_helpers import Pybind11Extension, build_ext
from setuptools import setup

extra_compile_args = []
if sys.platform != "win32":
    # -ffp-contract=off: never fuse a multiply and an add into an FMA, even
    # when CFLAGS target a CPU that has one (csrc/detmath.hpp, csrc/mlp.hpp:
    # the strategies' floating point must give the same bits on every
    # x86-64 machine). No -ffast-math for the same reason.
    extra_compile_args = ["-O3", "-fvisibility=hidden", "-ffp-contract=off"]
else:
    extra_compile_args = ["/O2"]

ext_modules = [
    Pybind11Extension(
        "nasbench_suite._core",
        sources=[
            "csrc/module.cpp",
            "csrc/md5.cpp",
            "csrc/md5x8.cpp",
            "csrc/md5x16.cpp",
            "csrc/dag.cpp",
            "csrc/nb101.cpp",
            "csrc/nb201.cpp",
            "csrc/index.cpp",
            "csrc/mlp.cpp",
            "csrc/det_module.cpp",
            "csrc/graph.cpp",
            "csrc/graph_module.cpp",
        ],
        include_dirs=["csrc"],
        cxx_std=17,
        extra_compile_args=extra_compile_args,
    ),
]

setup(ext_modules=ext_modules, cmdclass={"build_ext": build_ext})
