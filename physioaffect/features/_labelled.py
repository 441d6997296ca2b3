"""numpy in -> numpy out, xarray in -> xarray out: the shared wrapping of feature functions."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from .._validation import check_sfreq, check_signal
from ..errors import InvalidParameterError, InvalidSignalError


@dataclass
class InputInfo:
    """What a feature function needs to label its output like its input."""

    is_xarray: bool
    lead_dims: tuple = ()
    lead_coords: dict = field(default_factory=dict)
    channel_names: list | None = None
    attrs: dict = field(default_factory=dict)
    #: scalar coords and coords over the channel dim (renamed "channel"), kept by ``keep_coords``
    other_coords: dict = field(default_factory=dict)


def unwrap(data, sfreq, *, name: str = "data", dims: tuple[str, str] | None = None,
           sfreq_must_match: bool = False, keep_coords: bool = False,
           name_channels: bool = False, real_dtype: bool = False, allow_nonfinite: bool = False):
    """Split ``data`` into a float64 array and the labels needed to rebuild an xarray.

    ``sfreq`` may be None when ``data`` is a DataArray carrying ``attrs["sfreq"]`` (or a scalar
    ``sfreq`` coord).

    Keywords, all off by default:

    - ``dims``: names of the channel and time dims of a DataArray, which must be present and may
      come in any order (they are moved last); by default the last two dims are taken as they are;
    - ``sfreq_must_match``: raise when ``sfreq`` is given and differs from the DataArray's;
    - ``keep_coords``: carry scalar coords and coords over the channel dim to the output;
    - ``name_channels``: a NaN or inf error names the channel at fault (label and index);
    - ``real_dtype``: reject data that is not of an integer or floating dtype;
    - ``allow_nonfinite``: leave NaN and inf samples to the caller (which must then check them).
    """
    xr = sys.modules.get("xarray")  # a DataArray implies xarray is imported; never import it here
    if xr is not None and isinstance(data, xr.DataArray):
        if dims is not None:
            missing = [d for d in dims if d not in data.dims]
            if missing:
                raise InvalidSignalError(
                    f"`{name}` has dims {tuple(data.dims)}; expected dims "
                    f"(..., {', '.join(map(repr, dims))}) (missing {missing})")
            data = data.transpose(..., *dims)
        elif data.ndim < 2:
            raise InvalidParameterError(
                f"`{name}` must have dims (..., 'channel', 'time'), got dims {data.dims}")
        own_sfreq = data.attrs.get("sfreq")
        if own_sfreq is None and "sfreq" in data.coords and data.coords["sfreq"].size == 1:
            own_sfreq = float(data.coords["sfreq"].values.item())
        if sfreq is None:
            sfreq = own_sfreq
        elif sfreq_must_match and own_sfreq is not None:
            sfreq = check_sfreq(sfreq)
            if not np.isclose(check_sfreq(own_sfreq, "attrs['sfreq']"), sfreq):
                raise InvalidParameterError(
                    f"`sfreq`={sfreq} differs from the DataArray's sfreq {own_sfreq}; expected "
                    "them to agree (or pass sfreq=None to use the DataArray's)")
        ch_dim, time_dim = data.dims[-2:]
        lead_dims = tuple(data.dims[:-2])
        lead_coords = {}
        other_coords = {}
        for cname, coord in data.coords.items():
            if coord.dims and set(coord.dims) <= set(lead_dims):
                lead_coords[cname] = (coord.dims, coord.values)
            elif (keep_coords and cname not in (ch_dim, time_dim, "sfreq")
                  and set(coord.dims) <= {*lead_dims, ch_dim}):
                cdims = tuple("channel" if d == ch_dim else d for d in coord.dims)
                other_coords[cname] = (cdims, coord.values)
        channel_names = ([str(c) for c in data[ch_dim].values] if ch_dim in data.coords else None)
        info = InputInfo(True, lead_dims, lead_coords, channel_names,
                         {k: v for k, v in data.attrs.items() if k != "sfreq"}, other_coords)
        values = data.values
    else:
        info = InputInfo(False)
        values = data
    sfreq = check_sfreq(sfreq)
    values = check_signal(values, name=name, min_ndim=2, real_dtype=real_dtype,
                          allow_nonfinite=allow_nonfinite,
                          channel_names=(info.channel_names or ()) if name_channels else None)
    return values, sfreq, info


def wrap(values, info: InputInfo, *, sfreq: float, feature_dim: str, feature_names,
         feature_coords: dict | None = None, onsets=None, attrs: dict | None = None):
    """Label ``values`` of shape (*lead, [n_windows,] n_channels, n_features) as a DataArray."""
    import xarray as xr

    n_lead = values.ndim - (3 if onsets is not None else 2)
    lead_dims = info.lead_dims if info.lead_dims and len(info.lead_dims) == n_lead else tuple(
        "epoch" if n_lead == 1 else f"dim_{i}" for i in range(n_lead))
    dims = list(lead_dims)
    coords = {}
    if onsets is not None:
        dims.append("window")
        coords["onset"] = ("window", np.asarray(onsets, dtype=float))
    dims += ["channel", feature_dim]
    n_channels = values.shape[-2]
    names = info.channel_names or [f"ch{i}" for i in range(n_channels)]
    coords["channel"] = ("channel", list(names))
    coords[feature_dim] = (feature_dim, list(feature_names))
    for cname, (cdims, cvals) in (feature_coords or {}).items():
        coords[cname] = (cdims, cvals)
    if info.lead_dims == lead_dims:
        coords.update(info.lead_coords)
    for cname, (cdims, cvals) in info.other_coords.items():
        if info.lead_dims == lead_dims or set(cdims) <= {"channel"}:
            coords[cname] = (cdims, cvals)
    all_attrs = dict(info.attrs)
    all_attrs.update(attrs or {})
    all_attrs["sfreq"] = float(sfreq)
    return xr.DataArray(values, dims=dims, coords=coords, attrs=all_attrs)
