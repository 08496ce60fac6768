;; The bootstrap's hot loop, in WebAssembly: Poisson(1) weights drawn from sfc32, then one pass over
;; the subjects in descending score order. resample.ts holds the readable account of what the pass
;; sums; this is the same arithmetic, in the same order, so it gives the same numbers. It exists
;; because V8 compiles the JavaScript loop to code 2-3× slower than this whenever the arrays arrive
;; as arguments (bounds and detach checks it cannot hoist), and the scorecard's budget is
;; 1000 resamples × 100k subjects in under a second.
;;
;; Memory (byte offsets; one instance per scratch, laid out by resample.ts):
;;       0  Poisson table, 65536 × u8 (indexed by 16 random bits)
;;   65536  sums, 6 × f64: total, positives, tie penalty, AP sum, Brier, log loss
;;   65600  generator state, 4 × i32 (read and written back by draw)
;;   65616  stops, 12 × i32: group counts after which cumulative sums are recorded, ascending
;;   65664  at each stop, 3 × f64: weighted count, positives, score sum        (12 stops)
;;   65952  at each capture quota, 4 × f64: count and positives before the group, the group's own
;;   66080  capture quotas, 4 × f64, ascending
;;   66560  subjects: weights (u8 × n), codes (u8 × n; bit 0 label, bit 1 last of tie group),
;;          terms (f64 × 2n, 8-aligned: log-loss term, score)
(module
  (memory (export "memory") 2)

  ;; Fills weights[0..n) with Poisson(1) draws, two per generator step; returns their sum.
  (func (export "draw") (param $n i32) (param $w i32) (result i32)
    (local $a i32) (local $b i32) (local $c i32) (local $d i32)
    (local $t i32) (local $i i32) (local $x i32) (local $total i32)
    (local.set $a (i32.load (i32.const 65600)))
    (local.set $b (i32.load (i32.const 65604)))
    (local.set $c (i32.load (i32.const 65608)))
    (local.set $d (i32.load (i32.const 65612)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $t (i32.add (i32.add (local.get $a) (local.get $b)) (local.get $d)))
        (local.set $d (i32.add (local.get $d) (i32.const 1)))
        (local.set $a (i32.xor (local.get $b) (i32.shr_u (local.get $b) (i32.const 9))))
        (local.set $b (i32.add (local.get $c) (i32.shl (local.get $c) (i32.const 3))))
        (local.set $c (i32.add (i32.rotl (local.get $c) (i32.const 21)) (local.get $t)))
        (local.set $x (i32.load8_u (i32.and (local.get $t) (i32.const 0xffff))))
        (i32.store8 (i32.add (local.get $w) (local.get $i)) (local.get $x))
        (local.set $total (i32.add (local.get $total) (local.get $x)))
        (if (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $n))
          (then
            (local.set $x (i32.load8_u (i32.shr_u (local.get $t) (i32.const 16))))
            (i32.store8 offset=1 (i32.add (local.get $w) (local.get $i)) (local.get $x))
            (local.set $total (i32.add (local.get $total) (local.get $x)))))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $next)))
    (i32.store (i32.const 65600) (local.get $a))
    (i32.store (i32.const 65604) (local.get $b))
    (i32.store (i32.const 65608) (local.get $c))
    (i32.store (i32.const 65612) (local.get $d))
    (local.get $total))

  ;; The pass: weights at $w, codes at $code, terms at $terms, n subjects.
  (func (export "accumulate") (param $n i32) (param $w i32) (param $code i32) (param $terms i32)
    (local $i i32) (local $wi i32) (local $c i32) (local $all i32) (local $pos i32)
    (local $g i32) (local $stop i32) (local $nextStop i32) (local $q i32) (local $term i32)
    (local $total f64) (local $positives f64) (local $fpBefore f64) (local $tiePenalty f64)
    (local $apSum f64) (local $brier f64) (local $logLoss f64) (local $scoreSum f64)
    (local $s f64) (local $A f64) (local $P f64) (local $N f64) (local $nextQuota f64)
    (local.set $nextStop (i32.load (i32.const 65616)))
    (local.set $nextQuota (f64.load (i32.const 66080)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $wi (i32.load8_u (i32.add (local.get $w) (local.get $i))))
        (local.set $c (i32.load8_u (i32.add (local.get $code) (local.get $i))))
        (local.set $term (i32.add (local.get $terms) (i32.shl (local.get $i) (i32.const 4))))
        (local.set $all (i32.add (local.get $all) (local.get $wi)))
        ;; wi when the label is 1, else 0
        (local.set $pos (i32.add (local.get $pos)
          (i32.and (local.get $wi) (i32.sub (i32.const 0) (i32.and (local.get $c) (i32.const 1))))))
        (local.set $logLoss (f64.add (local.get $logLoss)
          (f64.mul (f64.convert_i32_u (local.get $wi)) (f64.load (local.get $term)))))
        (if (i32.ge_u (local.get $c) (i32.const 2))
          (then
            (local.set $s (f64.load offset=8 (local.get $term)))
            (local.set $A (f64.convert_i32_u (local.get $all)))
            (local.set $P (f64.convert_i32_u (local.get $pos)))
            (local.set $N (f64.sub (local.get $A) (local.get $P)))
            ;; brier += P·(1−s)·(1−s) + N·s·s
            (local.set $brier (f64.add (local.get $brier)
              (f64.add
                (f64.mul (f64.mul (local.get $P) (f64.sub (f64.const 1) (local.get $s))) (f64.sub (f64.const 1) (local.get $s)))
                (f64.mul (f64.mul (local.get $N) (local.get $s)) (local.get $s)))))
            (local.set $scoreSum (f64.add (local.get $scoreSum) (f64.mul (local.get $A) (local.get $s))))
            ;; tiePenalty += P·(fpBefore + N/2)
            (local.set $tiePenalty (f64.add (local.get $tiePenalty)
              (f64.mul (local.get $P) (f64.add (local.get $fpBefore) (f64.div (local.get $N) (f64.const 2))))))
            ;; apSum += P·(positives + P) / (positives + P + fpBefore + N)
            (if (i32.gt_u (local.get $pos) (i32.const 0))
              (then
                (local.set $apSum (f64.add (local.get $apSum)
                  (f64.div
                    (f64.mul (local.get $P) (f64.add (local.get $positives) (local.get $P)))
                    (f64.add (f64.add (f64.add (local.get $positives) (local.get $P)) (local.get $fpBefore)) (local.get $N)))))))
            (local.set $total (f64.add (local.get $total) (local.get $A)))
            (local.set $positives (f64.add (local.get $positives) (local.get $P)))
            (local.set $fpBefore (f64.add (local.get $fpBefore) (local.get $N)))
            (local.set $g (i32.add (local.get $g) (i32.const 1)))
            (if (i32.eq (local.get $g) (local.get $nextStop))
              (then
                (f64.store offset=65664 (i32.mul (local.get $stop) (i32.const 24)) (local.get $total))
                (f64.store offset=65672 (i32.mul (local.get $stop) (i32.const 24)) (local.get $positives))
                (f64.store offset=65680 (i32.mul (local.get $stop) (i32.const 24)) (local.get $scoreSum))
                (local.set $stop (i32.add (local.get $stop) (i32.const 1)))
                (local.set $nextStop (i32.load offset=65616 (i32.shl (local.get $stop) (i32.const 2))))))
            ;; The first group whose cumulative count reaches a quota holds it (several can share one).
            (block $quotasDone
              (loop $quota
                (br_if $quotasDone (f64.lt (local.get $total) (local.get $nextQuota)))
                (f64.store offset=65952 (i32.shl (local.get $q) (i32.const 5)) (f64.sub (local.get $total) (local.get $A)))
                (f64.store offset=65960 (i32.shl (local.get $q) (i32.const 5)) (f64.sub (local.get $positives) (local.get $P)))
                (f64.store offset=65968 (i32.shl (local.get $q) (i32.const 5)) (local.get $A))
                (f64.store offset=65976 (i32.shl (local.get $q) (i32.const 5)) (local.get $P))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (local.set $nextQuota
                  (select
                    (f64.load offset=66080 (i32.shl (local.get $q) (i32.const 3)))
                    (f64.const inf)
                    (i32.lt_u (local.get $q) (i32.const 4))))
                (br $quota)))
            (local.set $all (i32.const 0))
            (local.set $pos (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (f64.store (i32.const 65536) (local.get $total))
    (f64.store (i32.const 65544) (local.get $positives))
    (f64.store (i32.const 65552) (local.get $tiePenalty))
    (f64.store (i32.const 65560) (local.get $apSum))
    (f64.store (i32.const 65568) (local.get $brier))
    (f64.store (i32.const 65576) (local.get $logLoss))))
