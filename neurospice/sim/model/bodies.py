"""The memristor subcircuit bodies whose equations the model engine implements.

Frozen copies (normalised: lower case, no blanks around operators) of the bodies of
``zro2``, ``biolek`` and ``pershin`` in ``netlists/lib/memristors.lib`` as the engine's
equations (:mod:`.integrate`) were written and checked against them. A deck's memristor is
mapped only when its body equals one of these card for card (its ``.subckt`` line's
parameters are read, whatever its name); any other body is refused, naming the first line
that differs. Regenerate only together with the equations.
"""

from __future__ import annotations

__all__ = ["KNOWN_BODIES"]

KNOWN_BODIES: dict[str, tuple[str, ...]] = {
    "zro2": (
        '.param em_d={em*max(1+mc*sig_em*agauss(0,1,1),0.2)}',
        '.param eb_d={eb*max(1+mc*sig_eb*agauss(0,1,1),0.2)}',
        '.param rho_d={rho*max(1+mc*sig_rho*agauss(0,1,1),0.2)}',
        '.param zgo={1e3*area/lam}zgp={area*aa}zgr={1e6*area*aa}zbr={bpf*sqrt(vread)}',
        '.param zkt0={kb*t0}zrd={rth/dtmax}',
        '.func zsp(x,s)={x/s>30?x:s*ln(1+exp(x/s))}',
        '.func zexp(x)={exp(min(x,80))}',
        '.func zclip(x)={min(max(x,0),1)}',
        'vs p pi dc 0',
        'gvd 0 vd pi n 1',
        'rvd vd 0 1',
        'vzem zem 0 dc 0 trrandom(2{tc2c}{td2c}1 0)',
        'vzeb zeb 0 dc 0 trrandom(2{tc2c}{td2c}1 0)',
        'vzrho zrho 0 dc 0 trrandom(2{tc2c}{td2c}1 0)',
        'bemx emx 0 v={em_d}*max(1+({c2c}*{sig_em})*v(zem),0.2)',
        'bebx ebx 0 v={eb_d}*max(1+({c2c}*{sig_eb})*v(zeb),0.2)',
        'brhox rhox 0 v={rho_d}*max(1+({c2c}*{sig_rho})*v(zrho),0.2)',
        'bgl 0 gl i={zgo}/v(rhox)',
        'rgl gl 0 1',
        'bgh 0 gh i={zgr}*exp(({zbr}-v(ebx))/{zkt0})',
        'rgh gh 0 1',
        'bpth 0 tk i={t0}+{dtmax}*tanh({zrd}*max(v(vd)*i(vs),0))',
        'rth tk 0 1',
        'cth tk 0{tauth}',
        'gxs1 0 xs emx 0 1',
        'gxs2 xs 0 vd 0{alpha1}',
        'rxs xs 0 1',
        'gxr1 0 xr emx 0 1',
        'gxr2 0 xr vd 0{alpha1}',
        'rxr xr 0 1',
        'bls 0 ls i=-zsp(v(xs),{esm})/({kb}*v(tk))',
        'rls ls 0 1',
        'blr 0 lr i=-zsp(v(xr),{esm})/({kb}*v(tk))',
        'rlr lr 0 1',
        'blp 0 lp i=({bpf}*pow(v(vd)*v(vd)+1e-8,0.25)-v(ebx))/({kb}*v(tk))',
        'rlp lp 0 1',
        'bi pi n i=v(vd)*(v(w)*1e-3*v(gl)+(1-v(w))*{zgp}*zexp(v(lp)))',
        'bw 0 ws i=(time>0?{b0}:0)*((1-v(ws))*zexp(v(ls))-v(ws)*zexp(v(lr)))',
        'cw ws 0 1 ic={w0}',
        'rw ws w0n 1e9',
        'vw0 w0n 0{w0}',
        'bwc 0 w i=zclip(v(ws))',
        'rwc w 0 1',
        'br 0 r i=1/(v(w)*1e-3*v(gl)+(1-v(w))*1e-6*v(gh))',
        'rr r 0 1',
    ),
    "biolek": (
        '.func bclip(x)={min(max(x,0),1)}',
        'vs p pi dc 0',
        'bi pi n i=(v(pi)-v(n))/({ron}*bclip(v(w))+{roff}*(1-bclip(v(w))))',
        'bw 0 w i=(time>0?({uv}*{ron}/({d}*{d})):0)*i(vs)*(1-pow(v(w)-(i(vs)<=0?1:0),(2*{p})))',
        'cw w 0 1 ic={w0}',
        'rw w w0n 1e9',
        'vw0 w0n 0{w0}',
        'br r 0 v={ron}*bclip(v(w))+{roff}*(1-bclip(v(w)))',
    ),
    "pershin": (
        '.func pdf(y)={beta*y+0.5*(alpha-beta)*(abs(y+vth)-abs(y-vth))}',
        '.func pdstep(u)={u>=1?1:(u<=0?0:u*u*(3-2*u))}',
        'vs p pi dc 0',
        'bi pi n i=(v(pi)-v(n))/({roff}-({roff}-{ron})*min(max(v(w),0),1))',
        'bw 0 w i=(time>0?-1/({roff}-{ron}):0)*pdf((v(pi)-v(n)))*(pdf((v(pi)-v(n)))>0?pds'
        'tep(v(w)/{dlim}):pdstep((1-v(w))/{dlim}))',
        'cw w 0 1 ic={(roff-rinit)/(roff-ron)}',
        'rw w w0n 1e9',
        'vw0 w0n 0{(roff-rinit)/(roff-ron)}',
        'br r 0 v={roff}-({roff}-{ron})*min(max(v(w),0),1)',
    ),
}
