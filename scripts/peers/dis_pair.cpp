// DIS on one pair in C++ against the system OpenCV, to tell the library's time from
// frameflow's (BENCHMARKS.md, issue 18). Build and run beside two greyscale PNGs:
//   g++ -O2 scripts/peers/dis_pair.cpp -o /tmp/dis_pair $(pkg-config --cflags --libs opencv4)
//   /tmp/dis_pair A.png B.png [threads]
// Prints the median of 300 pairs per preset (a fresh output each pair, as cv2 users get).
#include <opencv2/opencv.hpp>
#include <opencv2/video.hpp>
#include <chrono>
#include <cstdio>
int main(int argc,char**argv){
  if(argc<3){fprintf(stderr,"usage: dis_pair A.png B.png [threads]\n");return 2;}
  cv::Mat a=cv::imread(argv[1],0), b=cv::imread(argv[2],0);
  if(a.empty()||b.empty()){fprintf(stderr,"dis_pair: cannot read %s or %s\n",argv[1],argv[2]);return 2;}
  if(argc>3) cv::setNumThreads(atoi(argv[3]));
  int presets[3]={cv::DISOpticalFlow::PRESET_ULTRAFAST,cv::DISOpticalFlow::PRESET_FAST,cv::DISOpticalFlow::PRESET_MEDIUM};
  for(int p:presets){
    auto dis=cv::DISOpticalFlow::create(p); cv::Mat flow;
    dis->calc(a,b,flow);
    std::vector<double> t;
    for(int i=0;i<300;i++){ cv::Mat f; auto s=std::chrono::steady_clock::now(); dis->calc(a,b,f); t.push_back(std::chrono::duration<double,std::milli>(std::chrono::steady_clock::now()-s).count());}
    std::sort(t.begin(),t.end()); printf("preset %d median %.3f ms threads %d\n",p,t[150],cv::getNumThreads());
  }
}
