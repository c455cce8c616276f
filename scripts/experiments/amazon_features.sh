# Sourced by the Amazon reviews experiments (amazon_text.sh, coral_lambda.sh): the MiniLM
# sentence embeddings of the four Blitzer domains, extracted once into OUT and shared, and the
# percentage accuracy of a graft --json summary. Expects GRAFT, DATA, OUT and THREADS.
DOMAINS=(books dvd electronics kitchen)
mkdir -p "$OUT"
for d in "${DOMAINS[@]}"; do
    f="$OUT/$d.safetensors"
    [[ -f $f ]] || "$GRAFT" extract --model "$DATA/all_minilm_l6_v2" \
        --data "$DATA/amazon_reviews_raw/$d" --out "$f" --threads "$THREADS"
done

# The accuracy (%) of the last line of a graft --json summary on stdin.
acc() { python3 -c 'import json,sys; print("%.2f" % (100 * json.loads(sys.stdin.read().splitlines()[-1])["accuracy"]))'; }
