# Generates manifolds/src/testdata/{ball_geodesic_ref,lorentz_velocity_ref}.rs (mpmath, 60 digits).
# Run: python3 hyperbolic_geodesic_ref.py (writes /tmp/gen/*.rs; the Lorentz file is lorentz.rs + far.rs).
from mpmath import mp, mpf, sinh, cosh, asinh, acosh, sqrt, diff, pi, cos, sin
import struct
mp.dps = 60
f32 = lambda x: struct.unpack('f', struct.pack('f', float(x)))[0]

def ball_vel(p, q, t):
    p = [mpf(x) for x in p]; q = [mpf(x) for x in q]; t = mpf(t)
    ap = 1 - sum(x*x for x in p); aq = 1 - sum(x*x for x in q)
    dd = sum((b-a)**2 for a, b in zip(p, q))
    d = 2*asinh(sqrt(dd/(ap*aq)))
    w1 = sinh((1-t)*d)/sinh(d); w2 = sinh(t*d)/sinh(d)
    M = ap*aq + w1*(2-ap)*aq + w2*(2-aq)*ap
    e1 = ap*sinh(t*d/2)**2; e2 = aq*sinh((1-t)*d/2)**2
    k = 4*ap*aq*d/(sinh(d)*M*M)
    return [k*((1+e1)*b - (1+e2)*a) for a, b in zip(p, q)]

def ball_geo(p, q, t):
    p = [mpf(x) for x in p]; q = [mpf(x) for x in q]
    ap = 1 - sum(x*x for x in p); aq = 1 - sum(x*x for x in q)
    dd = sum((b-a)**2 for a, b in zip(p, q))
    d = 2*asinh(sqrt(dd/(ap*aq)))
    w1 = sinh((1-t)*d)/sinh(d); w2 = sinh(t*d)/sinh(d)
    M = ap*aq + w1*(2-ap)*aq + w2*(2-aq)*ap
    return [2*(w1*aq*a + w2*ap*b)/M for a, b in zip(p, q)]

def lor_vel(xb, yb, t):
    xb = [mpf(v) for v in xb]; yb = [mpf(v) for v in yb]; t = mpf(t)
    x = [sqrt(1 + sum(v*v for v in xb))] + xb
    y = [sqrt(1 + sum(v*v for v in yb))] + yb
    ip = x[0]*y[0] - sum(a*b for a, b in zip(xb, yb))
    d = acosh(ip)
    return [d/sinh(d)*(cosh(t*d)*b - cosh((1-t)*d)*a) for a, b in zip(x, y)]

def lor_geo(xb, yb, t):
    xb = [mpf(v) for v in xb]; yb = [mpf(v) for v in yb]; t = mpf(t)
    x = [sqrt(1 + sum(v*v for v in xb))] + xb
    y = [sqrt(1 + sum(v*v for v in yb))] + yb
    d = acosh(x[0]*y[0] - sum(a*b for a, b in zip(xb, yb)))
    return [(sinh((1-t)*d)*a + sinh(t*d)*b)/sinh(d) for a, b in zip(x, y)]

def r(v): return repr(float(v))

# sanity: analytic ball velocity vs numerical derivative of the geodesic
p = [0.3, -0.8]; q = [-0.5, 0.6]
for t in [mpf('0.2'), mpf('0.7')]:
    num = [diff(lambda s: ball_geo(p, q, s)[i], t) for i in range(2)]
    ana = ball_vel(p, q, t)
    assert max(abs(a-b) for a, b in zip(num, ana)) < mpf(10)**-30, (num, ana)

def mob(a, b):
    ab = sum(x*y for x, y in zip(a, b)); aa = sum(x*x for x in a); bb = sum(x*x for x in b)
    D = 1 + 2*ab + aa*bb
    return [((1 + 2*ab + bb)*x + (1 - aa)*y)/D for x, y in zip(a, b)]
from mpmath import tanh
for P, Q, t in [([0.3, -0.8], [-0.5, 0.6], mpf('0.3')), ([-0.9997, 0.01], [0.99, 0.1], mpf('0.8'))]:
    P = [mpf(x) for x in P]; Q = [mpf(x) for x in Q]
    m = mob([-x for x in P], Q); nm = sqrt(sum(x*x for x in m)); d = 4*mp.atanh(nm) / 2
    w = [tanh(t*d/2)*x/nm for x in m]
    assert max(abs(x - y) for x, y in zip(mob(P, w), ball_geo(P, Q, t))) < mpf(10)**-40
ts = [0.0, 0.3, 0.5, 0.5 + 2.0**-20, 0.8, 1.0]
ts = [f32(t) for t in ts]
out = []
out.append("/// Rows `[p0, p1, q0, q1, t, v0, v1, g0, g1]`: f32-exact points of the ball, the geodesic")
out.append("/// velocity and point to 17 digits (mpmath, 60 digits, from the closed form; generator `docs/math/hyperbolic_geodesic_ref.py`).")
rows = []
th = 0.7
for rho in [0.5, 0.9, 0.99, 0.999, 0.9999, 1 - 1e-5, 1 - 1e-6]:
    for sep in [float(pi), 3.0, 2.0, 0.5, 1e-3, 1e-6]:
        for rho2 in [rho, 0.3]:
            P = [f32(rho*cos(th)), f32(rho*sin(th))]
            Q = [f32(rho2*cos(th+sep)), f32(rho2*sin(th+sep))]
            assert 1 - sum(mpf(x)**2 for x in P) > 0 and 1 - sum(mpf(x)**2 for x in Q) > 0
            if P == Q: continue
            for t in ts:
                v = ball_vel(P, Q, t)
                g = ball_geo(P, Q, mpf(t))
                rows.append("[%s]," % ", ".join(map(r, P + Q + [t] + v + g)))
out.append("static BALL_GEODESIC_REF: [[f64; 9]; %d] = [" % len(rows))
out += rows
out.append("];")
open('/tmp/gen/ball.rs', 'w').write("\n".join(out) + "\n")

out = ["/// Rows `[x1, x2, y1, y2, t, v0, v1, v2, g0, g1, g2]`: f32-exact spatial parts of points of H²",
       "/// (time parts implied), the geodesic velocity and point to 17 digits (mpmath, 60 digits).",]
rows = []
for rad in [0.5, 2.0, 5.0, 10.0, 15.0]:
    for sep in [float(pi), 2.0, 0.5, 1e-3, 1e-7]:
        for rad2 in [rad, 0.2]:
            X = [f32(sinh(rad)*cos(th)), f32(sinh(rad)*sin(th))]
            Y = [f32(sinh(rad2)*cos(th+sep)), f32(sinh(rad2)*sin(th+sep))]
            if X == Y: continue
            for t in ts:
                v = lor_vel(X, Y, t)
                g = lor_geo(X, Y, t)
                rows.append("[%s]," % ", ".join(map(r, X + Y + [t] + v + g)))
out.append("static LORENTZ_GEODESIC_REF: [[f64; 11]; %d] = [" % len(rows))
out += rows
out.append("];")
open('/tmp/gen/lorentz.rs', 'w').write("\n".join(out) + "\n")

# regressions
print("ball f64 regression", ball_vel([-0.9997061657051862], [0.9997061657051862], 0.5 + 2.0**-53))
print("ball f32 regression", [ball_vel([f32(-0.99996054)], [f32(0.9999958)], t) for t in [0.5]])

# H^16 far pair, chord^2 ~ 4e7
import math
n = 16
u1 = [math.sin(i + 1) for i in range(n)]; u2 = [math.cos(2*i + 1) for i in range(n)]
n1 = math.sqrt(sum(v*v for v in u1)); n2 = math.sqrt(sum(v*v for v in u2))
rad = 8.75
X = [math.sinh(rad)*v/n1 for v in u1]; Y = [math.sinh(rad)*v/n2 for v in u2]
xb = [mpf(v) for v in X]; yb = [mpf(v) for v in Y]
x0 = sqrt(1+sum(v*v for v in xb)); y0 = sqrt(1+sum(v*v for v in yb))
c2 = (x0-y0)**2 - sum((a-b)**2 for a, b in zip(xb, yb))
print("chord2", -c2)
lines = ["/// An H¹⁶ pair with chord² ≈ 2·10⁷ (spatial parts) and the velocity at t = 1/2 and 1/2 + 2⁻⁵³.",
         "const FAR_X: [f64; 16] = [%s];" % ", ".join(map(r, X)),
         "const FAR_Y: [f64; 16] = [%s];" % ", ".join(map(r, Y))]
for name, t in [("FAR_V_HALF", mpf(0.5)), ("FAR_V_AFTER", mpf(0.5) + mpf(2)**-53)]:
    lines.append("const %s: [f64; 17] = [%s];" % (name, ", ".join(map(r, lor_vel(X, Y, t)))))
open('/tmp/gen/far.rs', 'w').write("\n".join(lines) + "\n")
