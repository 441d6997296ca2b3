"""Biquad cascades written directly as AVX vector code: four channels per register, delays in
registers for a whole run of samples.

LLVM's loop vectoriser, given the lane loop of ``_cascade``, keeps every delay in memory between
samples (four vectors of channels times two delays per section do not fit in 16 registers), so each
section costs two loads and two stores per sample on top of its arithmetic. Here the lane loop is
the outer one: :func:`cascade_kernel` builds, through a Numba intrinsic, a loop over samples that
runs ``n_sections`` sections on one 4-wide vector of channels, with its ``2 * n_sections`` delays
and the running sums held in registers for the whole run. The loop carries
``llvm.loop.unroll.disable``: unrolled, LLVM runs out of registers and spills the running sums,
whose chain through memory then sets the pace.

Two forms of the section:

``raw``
    scipy's transposed direct form II, ``y = b0 v + z0; z0 = b1 v + z1 - a1 y; z1 = b2 v - a2 y``
    (5 multiply-adds), whose delays are scipy's: all public filtering runs it.
``bandpass``
    a Butterworth band-pass of order N has N zeros at z = 1 and N at z = -1, so each of its
    sections may take the numerator ``1 - z^-2`` (one zero of each) and the product of the ``b0``
    as a gain (``plan_groups(sos, bandpass=True)``). In direct form II that section is
    ``w = v - a1 w1 - a2 w2``, ``y = w - w2``, delays ``w1, w2`` (``w`` one and two samples back):
    two multiply-adds and a subtraction, which runs on the adders beside the two multiply-add
    units, and a recursion one multiply-add deep. The fused DE kernels run this form.

Buffers are the transposed blocks of ``_cascade`` (``buf[i * LANES + lane]``) and the delay rows
``W`` its layout (sums at ``[0, 2 LANES)``, then ``z0, z1`` of each section); a call handles lanes
``k .. k + 3`` of samples ``i0 .. i1 - 1``.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

VW = 4  # doubles per AVX register
_LANES = 16  # must equal _cascade.LANES (checked there)

_f64 = ir.DoubleType()
_vec = ir.VectorType(_f64, VW)
_i64 = ir.IntType(64)
_i32 = ir.IntType(32)


def _const(x):
    return ir.Constant(_i64, x)


def _data(context, builder, ty, value):
    """The data pointer of a Numba array argument."""
    return context.make_array(ty)(context, builder, value).data


def _vload(builder, p, idx):
    """Load four doubles at ``p[idx]`` (8-byte aligned)."""
    return builder.load(builder.bitcast(builder.gep(p, [idx]), _vec.as_pointer()), align=8)


def _vstore(builder, val, p, idx):
    """Store four doubles at ``p[idx]`` (8-byte aligned)."""
    builder.store(val, builder.bitcast(builder.gep(p, [idx]), _vec.as_pointer()), align=8)


def _fma(builder, a, b, c):
    fnty = ir.FunctionType(_vec, [_vec, _vec, _vec])
    fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.fma.v4f64")
    return builder.call(fn, [a, b, c])


def _splat(builder, x):
    u = builder.insert_element(ir.Constant(_vec, ir.Undefined), x, ir.Constant(_i32, 0))
    mask = ir.Constant(ir.VectorType(_i32, VW), [0] * VW)
    return builder.shuffle_vector(u, ir.Constant(_vec, ir.Undefined), mask)


def _no_unroll(module):
    inner = module.add_metadata([ir.MetaDataString(module, "llvm.loop.unroll.disable")])
    loop_id = module.add_metadata([inner, ir.MetaDataString(module, "physioaffect.cascade")])
    loop_id.operands = (loop_id, inner)  # loop identifiers refer to themselves
    return loop_id


@intrinsic
def keep_out_of_line(typingctx):
    """Mark the calling kernel ``noinline``: LLVM would otherwise paste a kernel full of vector
    variants into each of its callers' call sites, multiplying their compile time."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        builder.function.attributes.add("noinline")
        return context.get_dummy_value()

    return sig, codegen


def _loop(builder, count, body):
    """Emit ``for n in range(count): body(n)`` with unrolling disabled."""
    counter = cgutils.alloca_once(builder, _i64)
    builder.store(ir.Constant(_i64, 0), counter)
    bcond = builder.append_basic_block("cascade.cond")
    bbody = builder.append_basic_block("cascade.body")
    bend = builder.append_basic_block("cascade.end")
    builder.branch(bcond)
    builder.position_at_end(bcond)
    n = builder.load(counter)
    builder.cbranch(builder.icmp_signed("<", n, count), bbody, bend)
    builder.position_at_end(bbody)
    body(n)
    builder.store(builder.add(n, ir.Constant(_i64, 1)), counter)
    latch = builder.branch(bcond)
    latch.set_metadata("llvm.loop", _no_unroll(builder.module))
    builder.position_at_end(bend)


def cascade_kernel(n_sections: int, store: bool, bandpass: bool, pipelined: bool = True):
    """Intrinsic ``f(W, c, src, dst, i0, i1, k, reverse)``: ``n_sections`` sections on lanes
    ``k .. k + 3`` of samples ``i0 .. i1 - 1``, taken in reverse order when ``reverse`` is true (the
    backward pass of forward-backward filtering, with no reversed copy of the input).

    ``W`` (1-D float64) is one delay row, ``c`` (n_sections, 6) the coefficients (``b0, b1, b2, -,
    a1, a2``; the ``bandpass`` form reads only ``a1, a2``: its numerators are ``[1, 0, -1]``). With
    ``store`` the
    output goes to ``dst`` (at each sample's own place); otherwise its sum and sum of squares are
    added to ``W``.

    With ``pipelined``, sections are software-pipelined: in one step, section ``s`` filters sample
    ``j - s`` (its input is section ``s - 1``'s output of the step before, held in a register), so
    the sections of a step are independent and each step waits only on the sections' own
    recursions. A prologue and an epilogue of ``n_sections - 1`` steps fill and drain the pipeline;
    runs shorter than that go through the sections one sample at a time, as every run does
    without ``pipelined``. Which is faster depends on the kernel, since registers run short:
    ``_cascade`` picks it kernel by kernel, as measured.
    """
    depth = n_sections - 1

    @intrinsic
    def _cascade(typingctx, W, c, src, dst, i0, i1, k, reverse):
        sig = types.void(W, c, src, dst, i0, i1, k, reverse)

        def codegen(context, builder, signature, args):
            i0v, i1v, kv, rv = args[4:]
            tys = signature.args
            wp, cp, sp, dp = (_data(context, builder, t, v) for t, v in zip(tys[:4], args[:4],
                                                                              strict=True))

            def vload(p, idx):
                return _vload(builder, p, idx)

            def vstore(val, p, idx):
                _vstore(builder, val, p, idx)

            def coef(s, j):
                return _splat(builder, builder.load(builder.gep(cp, [_const(6 * s + j)])))

            def at(offset):
                return builder.add(kv, _const(offset))

            const = _const

            co = []
            for s in range(n_sections):
                b = (None, None, None) if bandpass else (coef(s, 0), coef(s, 1), coef(s, 2))
                co.append((*b, builder.fneg(coef(s, 4)), builder.fneg(coef(s, 5))))
            # delays, sums and the pipeline's carried values live in allocas that SROA promotes to
            # registers (loop phis)
            z = []
            for s in range(n_sections):
                o = 2 * _LANES + 2 * _LANES * s
                pair = []
                for off in (o, o + _LANES):
                    slot = cgutils.alloca_once(builder, _vec)
                    builder.store(vload(wp, at(off)), slot)
                    pair.append(slot)
                z.append(pair)
            carry = [None] + [cgutils.alloca_once(builder, _vec) for _ in range(depth)]
            if not store:
                s1 = cgutils.alloca_once(builder, _vec)
                s2 = cgutils.alloca_once(builder, _vec)
                builder.store(vload(wp, at(0)), s1)
                builder.store(vload(wp, at(_LANES)), s2)

            def section(s, v):
                b0, b1, b2, na1, na2 = co[s]
                za, zb = z[s]
                z0 = builder.load(za)
                z1 = builder.load(zb)
                if bandpass:
                    # direct form II, delays w(i-1), w(i-2): its recursion is one multiply-add
                    # deep, and y = w - w(i-2) is computed beside it
                    w = _fma(builder, na1, z0, _fma(builder, na2, z1, v))
                    y = builder.fsub(w, z1)
                    builder.store(w, za)
                    builder.store(z0, zb)
                else:
                    y = _fma(builder, b0, v, z0)
                    builder.store(_fma(builder, na1, y, _fma(builder, b1, v, z1)), za)
                    builder.store(_fma(builder, na2, y, builder.fmul(b2, v)), zb)
                return y

            def emit(y, pos):
                if store:
                    vstore(y, dp, pos)
                else:
                    builder.store(builder.fadd(builder.load(s1), y), s1)
                    builder.store(_fma(builder, y, y, builder.load(s2)), s2)

            def step(active, pos):
                # one pipeline step: section s in ``active`` filters sample ``j - s``, where
                # ``pos`` is the buffer offset of sample j; inputs are read before carries move
                ins = [vload(sp, pos) if s == 0 else builder.load(carry[s]) for s in active]
                outs = [section(s, v) for s, v in zip(active, ins, strict=True)]
                for s, y in zip(active, outs, strict=True):
                    if s < depth:
                        builder.store(y, carry[s + 1])
                    else:
                        emit(y, builder.sub(pos, builder.mul(step_, const(depth))))

            rev = builder.icmp_unsigned("!=", rv, ir.Constant(rv.type, 0))
            first = builder.select(rev, builder.sub(i1v, const(1)), i0v)
            step_ = builder.select(rev, const(-_LANES), const(_LANES))
            pos0 = builder.add(builder.mul(first, const(_LANES)), kv)
            count = builder.sub(i1v, i0v)

            def pos_of(j):
                return builder.add(pos0, builder.mul(j, step_))

            def plain(n):
                pos = pos_of(n)
                v = vload(sp, pos)
                for s in range(n_sections):
                    v = section(s, v)
                emit(v, pos)

            def pipeline():
                for p in range(depth):  # prologue: fill the pipeline
                    step(range(p + 1), pos_of(const(p)))

                def main(n):
                    step(range(n_sections), pos_of(builder.add(n, const(depth))))

                _loop(builder, builder.sub(count, const(depth)), main)
                for e in range(1, depth + 1):  # epilogue: drain it
                    step(range(e, n_sections), pos_of(builder.add(count, const(e - 1))))

            if pipelined:
                with builder.if_else(builder.icmp_signed(">", count, const(depth))) as (long_, short):
                    with long_:
                        pipeline()
                    with short:
                        _loop(builder, count, plain)
            else:
                _loop(builder, count, plain)

            for s in range(n_sections):
                o = 2 * _LANES + 2 * _LANES * s
                vstore(builder.load(z[s][0]), wp, at(o))
                vstore(builder.load(z[s][1]), wp, at(o + _LANES))
            if not store:
                vstore(builder.load(s1), wp, at(0))
                vstore(builder.load(s2), wp, at(_LANES))
            return context.get_dummy_value()

        return sig, codegen

    return _cascade


@intrinsic
def transpose_rows(typingctx, x, c0, n_rows, t0, cnt, buf):
    """``buf[i * 16 + lane] = x[c0 + lane, t0 + i]`` for the rows of the complete groups of 4 among
    ``n_rows`` and ``i < cnt - cnt % 4``, by 4 x 4 register transposes (4 loads, 8 shuffles and 4
    stores per 16 samples); returns the number of rows done (a multiple of 4). ``x`` must be
    C-contiguous; for other layouts nothing is done and 0 returned.
    """
    sig = types.int64(x, c0, n_rows, t0, cnt, buf)
    contiguous = isinstance(x, types.Array) and x.layout == "C" and x.ndim == 2

    def codegen(context, builder, signature, args):
        xv, c0v, nrv, t0v, cntv, bv = args
        if not contiguous:
            return ir.Constant(_i64, 0)
        xa = context.make_array(signature.args[0])(context, builder, xv)
        xp = xa.data
        n_cols = cgutils.unpack_tuple(builder, xa.shape, 2)[1]
        bp = _data(context, builder, signature.args[5], bv)
        done = builder.and_(cntv, ir.Constant(_i64, -4))
        n_groups = builder.sdiv(nrv, ir.Constant(_i64, VW))

        def mask(*ix):
            return ir.Constant(ir.VectorType(_i32, VW), list(ix))

        with cgutils.for_range(builder, n_groups) as g_loop:
            g = g_loop.index
            with cgutils.for_range_slice(builder, ir.Constant(_i64, 0), done,
                                         ir.Constant(_i64, 4)) as (i, _):
                rows = []
                for r in range(VW):
                    row = builder.add(c0v, builder.add(builder.mul(g, ir.Constant(_i64, VW)),
                                                       ir.Constant(_i64, r)))
                    off = builder.add(builder.mul(row, n_cols), builder.add(t0v, i))
                    rows.append(_vload(builder, xp, off))
                lo01 = builder.shuffle_vector(rows[0], rows[1], mask(0, 4, 2, 6))
                hi01 = builder.shuffle_vector(rows[0], rows[1], mask(1, 5, 3, 7))
                lo23 = builder.shuffle_vector(rows[2], rows[3], mask(0, 4, 2, 6))
                hi23 = builder.shuffle_vector(rows[2], rows[3], mask(1, 5, 3, 7))
                outs = (builder.shuffle_vector(lo01, lo23, mask(0, 1, 4, 5)),
                        builder.shuffle_vector(hi01, hi23, mask(0, 1, 4, 5)),
                        builder.shuffle_vector(lo01, lo23, mask(2, 3, 6, 7)),
                        builder.shuffle_vector(hi01, hi23, mask(2, 3, 6, 7)))
                lane0 = builder.mul(g, ir.Constant(_i64, VW))
                for s_, o in enumerate(outs):
                    idx = builder.add(builder.mul(builder.add(i, ir.Constant(_i64, s_)),
                                                  ir.Constant(_i64, _LANES)), lane0)
                    _vstore(builder, o, bp, idx)
        # samples past the last multiple of 4 are left to the caller, for every row
        return builder.select(builder.icmp_signed(">", done, ir.Constant(_i64, 0)),
                              builder.mul(n_groups, ir.Constant(_i64, VW)),
                              ir.Constant(_i64, 0))

    return sig, codegen


def state_advance_kernel(n_states: int):
    """Intrinsic ``f(W, K, T, src, cnt, k)``: advance the delays of lanes ``k .. k + 3`` over samples
    ``0 .. cnt - 1`` of ``src`` without running the recursion, as a linear map.

    A cascade's delays after ``cnt`` samples are ``T s + sum_j K[j] x_j``, where ``s`` holds the
    delays before, ``T`` (n_states, n_states) is the zero-input map over ``cnt`` samples and
    ``K[j]`` (``K`` (cnt, n_states)) the delays that a unit sample at ``j`` leaves at the end. The
    sum is ``n_states`` independent multiply-add chains, free of the recursion's latency. ``W`` is
    the delay row of the group (delay ``m`` = ``z0/z1`` of section ``m // 2``, as in ``_cascade``).
    """

    @intrinsic
    def _advance(typingctx, W, K, T, src, cnt, k):
        sig = types.void(W, K, T, src, cnt, k)

        def codegen(context, builder, signature, args):
            cntv, kv = args[4:]
            tys = signature.args
            wp, kp, tp, sp = (_data(context, builder, t, v) for t, v in zip(tys[:4], args[:4],
                                                                              strict=True))
            const = _const

            def vload(p, idx):
                return _vload(builder, p, idx)

            def slot_of(m):
                s, q = divmod(m, 2)
                return builder.add(kv, const(2 * _LANES + 2 * _LANES * s + _LANES * q))

            acc = []
            for _ in range(n_states):
                a = cgutils.alloca_once(builder, _vec)
                builder.store(ir.Constant(_vec, [0.0] * VW), a)
                acc.append(a)

            def body(j):
                x = vload(sp, builder.add(builder.mul(j, const(_LANES)), kv))
                row = builder.mul(j, const(n_states))
                for m in range(n_states):
                    kjm = builder.load(builder.gep(kp, [builder.add(row, const(m))]))
                    builder.store(_fma(builder, _splat(builder, kjm), x, builder.load(acc[m])),
                                  acc[m])

            _loop(builder, cntv, body)
            old = [vload(wp, slot_of(m)) for m in range(n_states)]
            for m in range(n_states):
                v = builder.load(acc[m])
                for q in range(n_states):
                    tmq = builder.load(builder.gep(tp, [const(m * n_states + q)]))
                    v = _fma(builder, _splat(builder, tmq), old[q], v)
                _vstore(builder, v, wp, slot_of(m))
            return context.get_dummy_value()

        return sig, codegen

    return _advance
