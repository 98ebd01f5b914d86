# CLI tests of pocket-convert --tokenizer and pocket-sentiment on a tiny embedding-sum classifier
# (tests/tools/make_sentiment_model.py). Included from tests/tools/CMakeLists.txt (uses its
# tools_cli() and EXPECT); skipped without /usr/bin/python3 + onnx or without pocket-sentiment.
if(NOT TARGET pocket-sentiment OR NOT TARGET pocket-convert)
  return()
endif()
set(SD ${CMAKE_CURRENT_BINARY_DIR}/sentiment)
set(SENTIMENT $<TARGET_FILE:pocket-sentiment>)
set(CONVERT $<TARGET_FILE:pocket-convert>)

add_test(NAME tools.sentiment_make_data
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/make_sentiment_model.py ${SD})
add_test(NAME tools.sentiment_convert
         COMMAND ${EXPECT} ok "tokenizer: wordpiece, 11 tokens, lower-cased, accents stripped, max_length 512"
                 -- ${CONVERT} ${SD}/sentiment.onnx -o ${SD}/sentiment.pocket --no-nhwc
                 --tokenizer ${SD}/vocab.txt --labels ${SD}/labels.txt)
add_test(NAME tools.sentiment_convert_notok
         COMMAND ${CONVERT} ${SD}/sentiment.onnx -o ${SD}/notok.pocket --no-nhwc -q)
set_tests_properties(tools.sentiment_make_data PROPERTIES FIXTURES_SETUP sentiment_onnx TIMEOUT 120)
set_tests_properties(tools.sentiment_convert tools.sentiment_convert_notok PROPERTIES
                     FIXTURES_REQUIRED sentiment_onnx FIXTURES_SETUP sentiment_model TIMEOUT 60)

function(sentiment_cli name mode regex)
  add_test(NAME tools.${name} COMMAND ${EXPECT} ${mode} ${regex} -- ${ARGN})
  set_tests_properties(tools.${name} PROPERTIES FIXTURES_REQUIRED "sentiment_onnx;sentiment_model" TIMEOUT 60)
endfunction()

# pocket-convert tokenizer options
sentiment_cli(convert_tokenizer_missing fail "--tokenizer: cannot open '.*nothere.txt'"
              ${CONVERT} ${SD}/sentiment.onnx -o ${SD}/x.pocket --no-nhwc --tokenizer ${SD}/nothere.txt)
sentiment_cli(convert_tokenizer_no_cls fail "lacks the BERT special token\\(s\\) \\[CLS\\]"
              ${CONVERT} ${SD}/sentiment.onnx -o ${SD}/x.pocket --no-nhwc --tokenizer ${SD}/bad_vocab.txt)
sentiment_cli(convert_tokenizer_kind fail "--tokenizer-kind: expected wordpiece, bytelevel_bpe or whisper"
              ${CONVERT} ${SD}/sentiment.onnx -o ${SD}/x.pocket --tokenizer ${SD}/vocab.txt --tokenizer-kind sentencepiece)
sentiment_cli(convert_max_length_alone fail "need --tokenizer FILE"
              ${CONVERT} ${SD}/sentiment.onnx -o ${SD}/x.pocket --max-length 64)
sentiment_cli(convert_audio_bad fail "--audio-frontend: .*80 or 128 mel bins"
              ${CONVERT} ${SD}/sentiment.onnx -o ${SD}/x.pocket --audio-frontend whisper:40)
sentiment_cli(convert_help_tokenizer ok "--tokenizer FILE" ${CONVERT} --help)

# pocket-sentiment
sentiment_cli(sentiment_help ok "usage: pocket-sentiment" ${SENTIMENT} --help)
sentiment_cli(sentiment_no_text fail "missing TEXT" ${SENTIMENT} ${SD}/sentiment.pocket)
sentiment_cli(sentiment_positive ok "^POSITIVE 0\\.9241" ${SENTIMENT} ${SD}/sentiment.pocket "Good movies!")
sentiment_cli(sentiment_negative_top2 ok "1\\. +0\\.8808 +NEGATIVE \\(0\\)" ${SENTIMENT} ${SD}/sentiment.pocket "bad movie" --top 2)
sentiment_cli(sentiment_verbose ok "tokens \\(6, padded to 8\\): \\[CLS\\] good movie ##s ! \\[SEP\\]"
              ${SENTIMENT} ${SD}/sentiment.pocket "Good movies!" --verbose)
sentiment_cli(sentiment_json ok "^\\{\"text\":\"Good movies!\",\"label\":\"POSITIVE\",\"index\":1,\"probability\":0\\.924142.*\"tokens\":6,\"padded_tokens\":8"
              ${SENTIMENT} ${SD}/sentiment.pocket "Good movies!" --json --threads 2)
sentiment_cli(sentiment_truncated ok "text truncated to 8 tokens \\(3 word pieces dropped\\)"
              ${SENTIMENT} ${SD}/sentiment.pocket "bad bad bad bad bad bad bad bad bad")
sentiment_cli(sentiment_no_tokenizer fail "no tokenizer metadata.*pocket-convert --tokenizer"
              ${SENTIMENT} ${SD}/notok.pocket "good")
sentiment_cli(sentiment_missing_model fail "cannot use '.*nothere.pocket' as a text classifier"
              ${SENTIMENT} ${SD}/nothere.pocket "good")
sentiment_cli(sentiment_image_model fail "no tokenizer metadata"
              ${SENTIMENT} ${CMAKE_CURRENT_BINARY_DIR}/data/rgb.pocket "good")
sentiment_cli(sentiment_bad_threads fail "bad value for --threads" ${SENTIMENT} ${SD}/sentiment.pocket "good" --threads 0)
set_tests_properties(tools.sentiment_image_model PROPERTIES FIXTURES_REQUIRED "tools_data;sentiment_onnx;sentiment_model")
